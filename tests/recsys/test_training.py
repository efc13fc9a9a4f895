"""Training: the hybrid learns latent structure, round-trips through bytes, updates online."""

import numpy as np
import pytest

from recsys.evaluation import ranking_metrics
from recsys.training import (
    NotEnoughData,
    RecommenderArtifact,
    TrainingConfig,
    TrainingData,
    train,
    update,
)
from tests.recsys.recsys_shop import make_shop, make_training_data

SMALL = dict(no_components=16, epochs=15, num_threads=1, learning_rate=0.05)


@pytest.fixture(scope="module")
def shop_artifact():
    return train(make_training_data(cold_items=8), TrainingConfig(**SMALL))


def _group(item_id):
    return int(item_id.split("-")[1]) % 4


def test_training_beats_popularity_on_held_out_items(shop_artifact):
    # Hold out: for each visitor, the own-group items they never touched are the relevant ones.
    items, users, item_ids, *_ = make_shop(cold_items=8)
    seen = {}
    for u, i in zip(users, item_ids, strict=True):
        seen.setdefault(u, set()).add(i)
    art = shop_artifact
    warm = [i for i in art.item_ids if i in set(item_ids)]
    cols = np.array([art.item_index[i] for i in warm])
    model_ndcg, pop_ndcg = [], []
    for user in sorted(seen)[:60]:
        group = int(user.split("-")[1]) % 4
        positives = [j for j, i in enumerate(warm) if _group(i) == group and i not in seen[user]]
        excluded = [j for j, i in enumerate(warm) if i in seen[user]]
        scores = art.score_users(np.array([art.user_index[user]]))[0, cols].astype(float)
        scores[excluded] = -np.inf
        pop = art.item_popularity[cols].astype(float)
        pop[excluded] = -np.inf
        model_ndcg.append(ranking_metrics(scores, positives, 10)["ndcg"])
        pop_ndcg.append(ranking_metrics(pop, positives, 10)["ndcg"])
    assert np.mean(model_ndcg) > np.mean(pop_ndcg) + 0.2


def test_cold_product_is_placed_near_its_group(shop_artifact):
    art = shop_artifact
    # sku-80..87 never had an event: they are embedded from metadata alone.
    cold = "sku-81"  # group 1 (kitchen)
    assert art.meta["warm_items"] == 80 and len(art.item_ids) == 88
    kitchen_fans = [u for u in art.user_ids if int(u.split("-")[1]) % 4 == 1]
    garden_fans = [u for u in art.user_ids if int(u.split("-")[1]) % 4 == 0]
    col = art.item_index[cold]

    def mean_score(users):
        return art.score_users(np.array([art.user_index[u] for u in users]))[:, col].mean()

    assert mean_score(kitchen_fans) > mean_score(garden_fans)
    bias, vector = art.item_representation(
        {"item_id": "brand-new", "title": "kitchen kettle", "category": "Home > Kitchen"}
    )
    assert vector.shape == (art.no_components,)
    similar = [i for i, _ in art.similar_items(cold, 5)]
    assert sum(_group(i) == 1 for i in similar) >= 4


def test_new_visitor_gets_session_and_feature_based_vector(shop_artifact):
    art = shop_artifact
    vector, _bias, how = art.user_representation("stranger", session_item_ids=["sku-2", "sku-6"])
    assert how == "session"
    top = np.argsort(-art.score(vector))[:10]
    assert sum(_group(art.item_ids[i]) == 2 for i in top) >= 7
    assert art.user_representation("stranger")[2] == "none"
    assert art.user_representation("stranger", user_record={"country": "ki"})[2] == "features"
    assert art.user_representation("visitor-3")[2] == "profile"


def test_save_load_round_trip_gives_identical_scores(shop_artifact):
    data = shop_artifact.to_bytes()
    loaded = RecommenderArtifact.from_bytes(data)
    assert loaded.item_ids == shop_artifact.item_ids and loaded.user_ids == shop_artifact.user_ids
    rows = np.arange(5)
    assert np.allclose(loaded.score_users(rows), shop_artifact.score_users(rows))
    assert loaded.meta == shop_artifact.meta
    assert loaded.config.to_dict() == shop_artifact.config.to_dict()


def test_fit_partial_update_learns_new_interactions(shop_artifact):
    art = RecommenderArtifact.from_bytes(shop_artifact.to_bytes())
    user = "visitor-0"  # a garden fan
    toys = [f"sku-{i}" for i in range(2, 80, 4)]
    before = art.score_users(np.array([art.user_index[user]]))[0]
    events = [user] * (len(toys) * 3) + ["newcomer"] * 3
    items = toys * 3 + ["sku-82", "sku-86", "sku-new"]
    data = TrainingData(
        user_ids=events,
        item_ids=items,
        timestamps=np.full(len(events), 1_800_000_000.0),
        event_types=["purchase"] * len(events),
        items=[{"item_id": "sku-new", "title": "toys kite", "category": "Home > Toys"}],
    )
    updated = update(art, data, TrainingConfig(**SMALL, update_epochs=10))
    after = updated.score_users(np.array([updated.user_index[user]]))[0, : len(before)]
    toy_cols = [art.item_index[t] for t in toys]
    assert (after[toy_cols] - before[toy_cols]).mean() > 0
    assert "newcomer" in updated.user_index and "sku-new" in updated.item_index
    assert updated.meta["updated_with"] > 0
    # The restored artifact keeps working after the update.
    again = RecommenderArtifact.from_bytes(updated.to_bytes())
    assert again.user_representation("newcomer")[2] == "profile"


def test_too_little_data_says_what_is_missing():
    data = TrainingData(user_ids=["a"], item_ids=["x"], items=[{"item_id": "x"}])
    with pytest.raises(NotEnoughData, match="usable interactions"):
        train(data, TrainingConfig(**SMALL))


def test_progress_is_reported_to_completion():
    seen = []
    train(
        make_training_data(n_users=20, n_items=12),
        TrainingConfig(**{**SMALL, "epochs": 3}),
        progress=lambda f, m: seen.append((f, m)),
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("epoch 3/3" in m for _, m in seen)
