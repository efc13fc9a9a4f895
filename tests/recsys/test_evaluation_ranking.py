"""The evaluation's ranking shortcuts give the same numbers as ranking everything."""

import numpy as np

from recsys.datasets import InteractionDataset
from recsys.evaluation import evaluate, ranking_metrics


def _reference(scores, positives, k):
    """Full stable sort for the top k, full sort of the negatives for the AUC."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.unique(positives)
    valid = np.isfinite(scores)
    order = np.argsort(-np.where(valid, scores, -np.inf), kind="stable")[: min(k, valid.sum())]
    is_pos = np.zeros(len(scores), dtype=bool)
    is_pos[positives] = True
    negatives = np.sort(scores[valid & ~is_pos])
    below = np.searchsorted(negatives, scores[positives], side="left")
    ties = np.searchsorted(negatives, scores[positives], side="right") - below
    return is_pos[order], float(((below + 0.5 * ties) / len(negatives)).mean())


def test_metrics_equal_a_full_ranking_with_ties_and_exclusions():
    rng = np.random.RandomState(3)
    for case in range(400):
        n = int(rng.randint(12, 400))
        # Half the cases have many tied scores, where the order among equals matters.
        scores = rng.randint(0, 5, n).astype(float) if case % 2 else rng.rand(n)
        scores[rng.rand(n) < 0.1] = -np.inf
        finite = np.flatnonzero(np.isfinite(scores))
        positives = rng.choice(
            finite, size=int(rng.randint(1, min(len(finite), 40))), replace=False
        )
        k = int(rng.randint(1, 12))
        hits, auc = _reference(scores, positives, k)
        got = ranking_metrics(scores, positives, k)
        assert got["precision"] == hits.sum() / k, case
        dcg = float((hits / np.log2(np.arange(2, len(hits) + 2))).sum())
        ideal = float((1 / np.log2(np.arange(2, min(len(set(positives)), k) + 2))).sum())
        assert abs(got["ndcg"] - dcg / ideal) < 1e-12, case
        assert abs(got["auc"] - auc) < 1e-12, case


def test_max_users_scores_a_repeatable_sample():
    rng = np.random.RandomState(0)
    users, items, ts = [], [], []
    for u in range(120):
        for j in range(6):
            users.append(f"u{u}")
            items.append(f"i{int(rng.randint(40))}")
            ts.append(1_700_000_000 + j * 86400 + u)
    dataset = InteractionDataset(
        user_ids=np.asarray(users, dtype=object),
        item_ids=np.asarray(items, dtype=object),
        timestamps=np.asarray(ts, dtype=float),
        weights=np.ones(len(users)),
        items=[{"item_id": f"i{i}"} for i in range(40)],
        users=[],
        name="sample",
    )
    full = evaluate(dataset, "time", k=5, models=("popularity",))
    assert full["models"]["popularity"]["users"] > 30
    first = evaluate(dataset, "time", k=5, models=("popularity",), max_users=30)
    again = evaluate(dataset, "time", k=5, models=("popularity",), max_users=30)
    assert first["models"]["popularity"]["users"] == 30
    assert first["models"] == again["models"]
