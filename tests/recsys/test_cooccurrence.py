"""Products bought together: baskets, scores (cosine, lift, shrinkage, decay), cart anchors."""

import numpy as np
import pytest

from recsys.cooccurrence import (
    BoughtTogether,
    BoughtTogetherConfig,
    baskets,
    family_key,
    shrunk_scores,
    train_bought_together,
)
from recsys.training import RecommenderArtifact, TrainingConfig, train, train_components
from tests.recsys.recsys_shop import make_training_data

DAY = 86400.0


def log(*rows):
    """rows of (visitor, sku, time in hours, type)."""
    users = [r[0] for r in rows]
    items = [r[1] for r in rows]
    stamps = np.asarray([r[2] * 3600.0 for r in rows])
    types = [r[3] if len(r) > 3 else "purchase" for r in rows]
    return users, items, stamps, types


def test_a_basket_is_one_visitors_events_within_the_session_window():
    users, items, stamps, _ = log(
        ("ann", "kettle", 0),
        ("ann", "mug", 1),
        ("ann", "kettle", 2),  # the same product twice counts once
        ("ann", "tea", 40),  # 38 hours later: a new basket
        ("bob", "mug", 1),
    )
    found = baskets(users, items, stamps, session_gap_hours=24)
    assert sorted(b for _, b in found) == [["kettle", "mug"], ["mug"], ["tea"]]


def test_cosine_and_lift_follow_their_definitions_and_shrinkage_damps_rare_pairs():
    # c_ij = 2 of n_i = 4, n_j = 2 baskets, N = 10
    assert shrunk_scores([2], [4], [2], 10, "cosine", 0)[0] == pytest.approx(2 / np.sqrt(8))
    assert shrunk_scores([2], [4], [2], 10, "lift", 0)[0] == pytest.approx(2 * 10 / 8)
    assert shrunk_scores([2], [4], [2], 10, "cosine", 3)[0] == pytest.approx(2 / np.sqrt(8) * 2 / 5)
    # One basket where both rare items met has cosine 1 unshrunk; shrinkage puts a pair seen
    # in 40 baskets of 50 ahead of it.
    rare, frequent = shrunk_scores([1, 40], [1, 50], [1, 50], 100, "cosine", 3)
    assert rare < frequent
    assert shrunk_scores([1, 40], [1, 50], [1, 50], 100, "cosine", 0)[0] > frequent


def test_partners_are_ranked_by_co_occurrence_and_cart_anchors_sum():
    rows = []
    for b in range(6):  # kettle with mug in 6 baskets, with tea in 2
        rows += [(f"v{b}", "kettle", 0), (f"v{b}", "mug", 0)]
    for b in range(2):
        rows += [(f"w{b}", "kettle", 0), (f"w{b}", "tea", 0)]
    for b in range(5):  # tea with biscuits: a cart of kettle + tea gets biscuits high
        rows += [(f"x{b}", "tea", 0), (f"x{b}", "biscuits", 0)]
    users, items, stamps, types = log(*rows)
    model = train_bought_together(users, items, stamps, types, BoughtTogetherConfig(shrinkage=1))
    assert [p for p, _ in model.partners("kettle")] == ["mug", "tea"]
    cart = model.related(["kettle", "tea"])
    assert "kettle" not in cart and "tea" not in cart
    assert cart["biscuits"][1] == "tea" and cart["mug"][1] == "kettle"
    # The summed score of a partner of both anchors is the sum of its two scores.
    one = dict(model.partners("kettle"))
    two = dict(model.partners("tea"))
    both = model.related(["kettle", "biscuits"])
    assert both["tea"][0] == pytest.approx(one["tea"] + dict(model.partners("biscuits"))["tea"])
    assert two["biscuits"] > two["kettle"]
    assert model.related(["no-such-sku"]) == {}


def test_old_baskets_weigh_less_than_recent_ones_with_time_decay():
    rows = []
    for b in range(4):  # long ago: kettle with mug
        rows += [(f"old{b}", "kettle", 0), (f"old{b}", "mug", 0)]
    for b in range(3):  # a year later: kettle with tea
        rows += [(f"new{b}", "kettle", 365 * 24), (f"new{b}", "tea", 365 * 24)]
    users, items, stamps, types = log(*rows)
    decayed = train_bought_together(
        users, items, stamps, types, BoughtTogetherConfig(half_life_days=60, shrinkage=0)
    )
    flat = train_bought_together(
        users, items, stamps, types, BoughtTogetherConfig(half_life_days=None, shrinkage=0)
    )
    assert decayed.partners("kettle")[0][0] == "tea"
    assert flat.partners("kettle")[0][0] == "mug"


def test_views_do_not_make_baskets_and_an_empty_model_says_why():
    users, items, stamps, types = log(("ann", "kettle", 0, "view"), ("ann", "mug", 0, "view"))
    model = train_bought_together(users, items, stamps, types)
    assert len(model) == 0 and "no add-to-cart or purchase events" in model.meta["skipped"]
    users, items, stamps, types = log(("ann", "kettle", 0), ("bob", "mug", 0))
    model = train_bought_together(users, items, stamps, types)
    assert "no basket holds two different products" in model.meta["skipped"]
    assert model.related(["kettle"]) == {}


def test_variants_share_a_family_unless_the_catalog_names_one():
    red = {"item_id": "1", "title": "Enamel mug, red, 300 ml"}
    blue = {"item_id": "2", "title": "Enamel mug blue 300ml"}
    kettle = {"item_id": "3", "title": "Copper kettle"}
    assert family_key(red) == family_key(blue) != family_key(kettle)
    tagged = {"item_id": "4", "title": "Anything", "attributes": {"item_group_id": "MUG-1"}}
    assert family_key(tagged) == family_key({"item_id": "5", "attributes": {"family": "mug-1"}})


def test_the_model_travels_inside_the_recommender_artifact():
    data = make_training_data(n_users=30, n_items=16, per_user=6)
    data.event_types = ["add_to_cart"] * len(data)
    config = TrainingConfig(no_components=4, epochs=1, num_threads=1)
    artifact = train(data, config)
    artifact.components, report = train_components(data, config)
    assert report["bought_together"]["pairs"] > 0
    loaded = RecommenderArtifact.from_bytes(artifact.to_bytes())
    original = artifact.components["bought_together"]
    copy = loaded.components["bought_together"]
    assert isinstance(copy, BoughtTogether)
    assert copy.partners("sku-0") == original.partners("sku-0")
    assert copy.config.to_dict() == original.config.to_dict()


def test_unknown_component_names_and_measures_are_refused():
    with pytest.raises(ValueError, match="unknown component"):
        TrainingConfig.from_dict({"components": ["bought_together", "telepathy"]})
    with pytest.raises(ValueError, match="cosine or lift"):
        BoughtTogetherConfig.from_dict({"measure": "jaccard"})
