"""Features: interaction weights, item and user feature matrices, cold products."""

import numpy as np
import pytest

from recsys.features import (
    IdMap,
    InteractionConfig,
    ItemFeatureSpace,
    UserFeatureSpace,
    category_prefixes,
    event_type_weights,
    interaction_matrices,
)
from tests.recsys.recsys_shop import make_shop


def test_category_path_gives_every_prefix():
    assert category_prefixes("Home > Kitchen > Pans") == [
        "home",
        "home > kitchen",
        "home > kitchen > pans",
    ]


def test_purchase_weighs_more_than_view_and_old_events_fade():
    config = InteractionConfig(half_life_days=10.0, log_compress=False)
    weights = event_type_weights(["view", "purchase", "impression"], config)
    assert weights.tolist() == [1.0, 8.0, 0.0]
    day = 86400.0
    # user 0 viewed item 0 today and item 1 ten days ago (one half-life): half the weight.
    positives, sample = interaction_matrices(
        np.array([0, 0, 1]),
        np.array([0, 1, 1]),
        np.array([10 * day, 0.0, 10 * day]),
        np.array([1.0, 1.0, 0.0]),
        (2, 2),
        config,
    )
    dense = sample.toarray()
    assert positives.nnz == 2  # the zero-weight impression is not a positive
    assert dense[0, 0] == pytest.approx(2 * dense[0, 1])
    assert np.array_equal(positives.row, sample.row) and np.array_equal(positives.col, sample.col)


def test_repeated_events_sum_into_one_pair():
    config = InteractionConfig(half_life_days=None, log_compress=False)
    positives, sample = interaction_matrices(
        np.array([0, 0, 0]), np.array([1, 1, 0]), None, None, (1, 2), config
    )
    assert positives.nnz == 2
    assert sample.toarray()[0, 1] == pytest.approx(2 * sample.toarray()[0, 0])


def test_item_features_shapes_rows_normalised_and_identity_only_for_warm_items():
    items, *_ = make_shop(n_items=8)
    id_map = IdMap(r["item_id"] for r in items)
    space = ItemFeatureSpace().fit(items, n_ids=len(id_map))
    warm = np.array([True] * 4 + [False] * 4)
    matrix = space.transform(items, id_map, identity_mask=warm)
    assert matrix.shape == (8, len(space.names) + 8)
    assert np.allclose(np.asarray(matrix.sum(axis=1)).ravel(), 1.0)
    identity = matrix[:, len(space.names) :].toarray()
    assert identity[:4].diagonal().min() > 0
    assert identity[4:].sum() == 0
    names = {space.column_name(c) for c in matrix[0].indices}
    assert {"cat:home", "cat:home > garden", "brand:garden-brand-0", "tag:garden"} <= names
    assert any(n.startswith("price:") for n in names)


def test_cold_product_created_after_training_gets_features_from_known_vocabulary():
    items, *_ = make_shop(n_items=8)
    space = ItemFeatureSpace().fit(items, n_ids=8)
    row = space.vector(
        {"item_id": "new", "title": "kitchen whisk", "category": "Home > Kitchen", "price": 9}
    )
    assert row.shape == (1, space.n_columns)
    names = {space.column_name(c) for c in row.indices}
    assert "cat:home > kitchen" in names and "w:whisk" in names
    assert row.sum() == pytest.approx(1.0)
    restored = ItemFeatureSpace.from_dict(space.to_dict())
    assert (
        restored.vector({"item_id": "x", "title": "kitchen whisk"})
        != space.vector({"item_id": "x", "title": "kitchen whisk"})
    ).nnz == 0


def test_user_features_country_device_segments_cohort():
    users = [
        {"user_id": "a", "country": "DE", "device": "mobile", "segments": ["vip"], "first_seen": 0},
        {"user_id": "b", "country": "FR", "device": "desktop", "first_seen": 86400 * 40},
    ]
    id_map = IdMap(["a", "b", "c"])
    space = UserFeatureSpace().fit(users, n_ids=3)
    matrix = space.transform(users, id_map)
    assert matrix.shape == (3, len(space.names) + 3)
    assert {"country:de", "device:mobile", "segment:vip", "cohort:0", "cohort:1"} <= set(
        space.names
    )
    # "c" has no record: its row holds only its identity column.
    assert matrix[2].nnz == 1 and matrix[2].sum() == pytest.approx(1.0)
