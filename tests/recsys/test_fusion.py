"""Fusion: per-model normalisation, the weighted sum, and weights fitted on a constructed
hold-out whose right answer is known; the hold-out comparison on a small simulated shop."""

import numpy as np
import pytest

from recsys import fusion
from recsys.evaluation import fusion_holdout
from recsys.training import TrainingConfig
from tests.recsys.recsys_shop import make_training_data


def test_scores_are_put_on_one_scale_per_model():
    out = fusion.normalise(np.array([10.0, -np.inf, 30.0, 20.0]))
    assert out.tolist() == [0.0, 0.0, 1.0, 0.5]
    assert fusion.normalise(np.array([5.0, 5.0])).tolist() == [1.0, 1.0]
    assert fusion.normalise(None, 3).tolist() == [0.0, 0.0, 0.0]
    # A model on a scale a thousand times larger does not drown the other after normalising.
    big = fusion.normalise(np.array([1000.0, 0.0, 2000.0]))
    small = fusion.normalise(np.array([2.0, 1.0, 0.0]))
    fused = fusion.fuse({"big": big, "small": small}, {"big": 0.5, "small": 0.5})
    assert fused.tolist() == [0.75, 0.25, 0.5]


def test_the_grid_covers_the_simplex():
    grid = fusion.weight_grid(["a", "b", "c"], step=0.5)
    assert len(grid) == 6
    assert all(sum(w.values()) == pytest.approx(1.0) for w in grid)


def _case(a, b, positive=0):
    return {
        "scores": {"a": fusion.normalise(np.array(a)), "b": fusion.normalise(np.array(b))},
        "positives": [positive],
        "exclude": [],
    }


def test_weights_fitted_on_a_hold_out_where_only_the_blend_finds_the_product():
    # Each model puts the wanted product (0) third behind its own decoys; the two models'
    # decoys differ, so only a mix of both ranks it first.
    cases = [_case([0.8, 1.0, 0.9, 0.0, 0.1], [0.8, 0.0, 0.1, 1.0, 0.9])] * 4
    assert fusion.mean_ndcg(cases, {"a": 1.0}, k=1) == 0.0
    assert fusion.mean_ndcg(cases, {"b": 1.0}, k=1) == 0.0
    weights, value = fusion.fit_weights(cases, ["a", "b"], k=1)
    assert value == 1.0 and 0 < weights["a"] < 1 and 0 < weights["b"] < 1
    assert fusion.cross_fitted(cases, ["a", "b"], k=1) == 1.0


def test_a_useless_model_gets_no_weight():
    rng = np.random.RandomState(0)
    cases = []
    for _ in range(20):
        good = rng.rand(30)
        good[5] = 2.0  # the good model always ranks the wanted product first
        cases.append(
            {
                "scores": {"good": fusion.normalise(good), "noise": fusion.normalise(rng.rand(30))},
                "positives": [5],
                "exclude": [],
            }
        )
    weights, value = fusion.fit_weights(cases, ["good", "noise"], k=3)
    assert value == 1.0 and weights["good"] > weights["noise"]


def test_the_hold_out_compares_every_model_with_their_blend_on_a_small_shop():
    data = make_training_data(n_users=80, n_items=24, per_user=10)
    data.event_types = ["add_to_cart" if i % 3 else "view" for i in range(len(data))]
    # Visitors interleave in time, so the time hold-out holds visitors known in training.
    steps = np.arange(len(data)) % 10
    visitors = np.arange(len(data)) // 10
    data.timestamps = 1_700_000_000 + steps * 86_400.0 + visitors * 60.0
    config = TrainingConfig.from_dict(
        {
            "no_components": 4,
            "epochs": 3,
            "num_threads": 1,
            "next_items": {"dim": 8, "blocks": 1, "epochs": 2, "max_len": 10},
        }
    )
    result = fusion_holdout(data, config, k=10, max_users=40, step=0.25)
    assert set(result["models"]) == {"merchlab", "bought_together", "next_items", "popularity"}
    assert result["users"] > 0
    assert sum(result["weights"].values()) == pytest.approx(1.0)
    best = max(result["models"].values())
    if result["chosen"] == "blend":
        assert result["blend"] > best
    else:
        assert result["models"][result["chosen"]] == best
