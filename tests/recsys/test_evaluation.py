"""Evaluation: metric functions against hand-computed values, splits, the whole report."""

import math
from pathlib import Path

import numpy as np
import pytest

from recsys.datasets import InteractionDataset, convert, load_dir
from recsys.evaluation import evaluate, format_table, ranking_metrics, split
from recsys.training import TrainingConfig
from tests.recsys.recsys_shop import make_shop

SHARED = Path("/work/shared/data")


def test_metrics_match_hand_computed_values():
    # Ranking by score: items 3, 1, 0, 2, 4; positives {1, 4}; k = 3.
    scores = np.array([0.5, 0.8, 0.2, 0.9, 0.1])
    m = ranking_metrics(scores, [1, 4], k=3)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 2)
    dcg = 1 / math.log2(3)  # hit at rank 2
    idcg = 1 + 1 / math.log2(3)  # two positives, both could be in the top 3
    assert m["ndcg"] == pytest.approx(dcg / idcg)
    # AUC: negatives {3: 0.9, 0: 0.5, 2: 0.2}; positive 0.8 beats 2 of 3, 0.1 beats 0 of 3.
    assert m["auc"] == pytest.approx((2 / 3 + 0) / 2)


def test_excluded_items_are_neither_ranked_nor_negatives():
    scores = np.array([np.inf * -1, 0.3, 0.2])
    m = ranking_metrics(scores, [2], k=1)
    assert m["precision"] == 0.0 and m["auc"] == 0.0
    m = ranking_metrics(np.array([-np.inf, 0.1, 0.2]), [2], k=1)
    assert m["ndcg"] == 1.0 and m["auc"] == 1.0


def test_ideal_dcg_uses_min_of_positives_and_k():
    m = ranking_metrics(np.array([3.0, 2.0, 1.0, 0.0]), [0, 1, 2], k=2)
    assert m["ndcg"] == pytest.approx(1.0) and m["recall"] == pytest.approx(2 / 3)


def _dataset():
    items, users, item_ids, stamps, user_records = make_shop(n_users=80, n_items=40, cold_items=8)
    # Cold items appear only at the end: each visitor's last event is a cold product of their group.
    extra_users = [f"visitor-{u}" for u in range(80)]
    extra_items = [f"sku-{40 + (u % 4) + 4 * (u % 2)}" for u in range(80)]
    return InteractionDataset(
        user_ids=np.asarray(users + extra_users, dtype=object),
        item_ids=np.asarray(item_ids + extra_items, dtype=object),
        timestamps=np.concatenate([stamps, np.full(80, 2e9)]),
        items=items,
        users=user_records,
        name="synthetic",
    )


def test_splits():
    ds = _dataset()
    test = split(ds, "time")
    assert test.sum() == round(len(ds) * 0.2)
    assert ds.timestamps[test].min() >= ds.timestamps[~test].max()
    last = split(ds, "last")
    assert last.sum() == 80
    with pytest.raises(ValueError):
        split(ds, "random")


def test_evaluate_reports_all_models_and_cold_start():
    config = TrainingConfig(no_components=16, epochs=10, num_threads=1)
    models = ("popularity", "lightfm_cf", "merchlab")
    result = evaluate(_dataset(), "last", k=5, config=config, models=models)
    assert set(result["models"]) == set(models)
    for metrics in result["models"].values():
        assert {"precision", "recall", "ndcg", "auc", "users", "training_seconds"} <= set(metrics)
    cold = result["cold_items"]
    assert cold["merchlab"]["users"] == 80
    assert cold["merchlab"]["ndcg"] > cold["random"]["ndcg"]
    assert "merchlab" in format_table(result)


def test_load_dir_reads_iso_and_numeric_timestamps(tmp_path):
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_id,timestamp,weight\nu1,i1,2024-01-01T00:00:00Z,2\nu1,i2,1704067260,1\n"
    )
    (tmp_path / "items.csv").write_text("item_id,title,price,color\ni1,Red pan,9.5,red\ni2,Pot,,\n")
    ds = load_dir(tmp_path)
    assert ds.timestamps.tolist() == [1704067200.0, 1704067260.0]
    assert ds.weights.tolist() == [2.0, 1.0]
    assert ds.items[0] == {"item_id": "i1", "title": "Red pan", "price": 9.5, "color": "red"}
    assert ds.users == []


@pytest.mark.skipif(
    not (SHARED / "ml-100k").exists(), reason="shared data /work/shared/data absent"
)
def test_ml100k_converter_writes_standard_format(tmp_path):
    out = convert("ml-100k", SHARED / "ml-100k", tmp_path / "ml")
    ds = load_dir(out)
    assert len(ds) > 50_000 and len(ds.items) == 1682 and len(ds.users) == 943
    assert "genres" in ds.items[0]
