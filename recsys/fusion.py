"""Fusion of several recommenders' scores (pure numpy).

Each model scores the candidates on its own scale (a LightFM dot product, a co-occurrence
cosine, a transformer logit, a count), so scores are first put on one scale per model and
request (:func:`normalise`: min-max over the model's finite scores, so its best candidate gets 1
and its worst 0; candidates a model cannot score get 0), then combined as a weighted sum
(:func:`fuse`; weighted "CombSUM" of Fox and Shaw 1994, "Combination of multiple searches",
with the per-model min-max normalisation of Lee 1997, SIGIR).

Weights are fitted per merchant on the time hold-out (:func:`fit_weights`): every weight
vector on a grid over the simplex (steps of ``step``) is scored by the mean NDCG@k of the fused
ranking over the hold-out's visitors, and the best one is kept (ties go to the earlier grid
point, which puts more weight on the earlier models). :func:`cross_fitted` fits on one half of
the visitors and measures on the other (and the other way round), so that the fused figure is
not measured on the visitors it was fitted on.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np


def normalise(scores: np.ndarray | None, n: int | None = None) -> np.ndarray:
    """Min-max over the finite scores; non-finite (not a candidate of this model) -> 0.

    ``None`` (the model could not score this visitor) gives zeros of length ``n``.
    """
    if scores is None:
        return np.zeros(int(n or 0))
    s = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(s)
    out = np.zeros(len(s))
    if not finite.any():
        return out
    lo, hi = s[finite].min(), s[finite].max()
    out[finite] = (s[finite] - lo) / (hi - lo) if hi > lo else 1.0
    return out


def fuse(normalised: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of normalised scores (models without a weight count 0)."""
    total = None
    for name, scores in normalised.items():
        w = float(weights.get(name, 0.0))
        if w == 0.0:
            continue
        total = w * scores if total is None else total + w * scores
    if total is None:
        n = len(next(iter(normalised.values()))) if normalised else 0
        return np.zeros(n)
    return total


def weight_grid(names: Sequence[str], step: float = 0.1) -> list[dict[str, float]]:
    """Every weight vector on the simplex with the given step (weights sum to 1)."""
    parts = int(round(1.0 / step))
    grid = []
    for combo in itertools.product(range(parts + 1), repeat=len(names) - 1):
        rest = parts - sum(combo)
        if rest < 0:
            continue
        grid.append({n: c / parts for n, c in zip(names, (*combo, rest), strict=True)})
    return grid


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first, ties in index order: the same as
    ``np.argsort(-scores, kind="stable")[:k]`` in linear time (argpartition, then a sort of the
    candidates at or above the k-th score)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    candidates = np.flatnonzero(scores >= kth)
    return candidates[np.argsort(-scores[candidates], kind="stable")][:k]


def _ndcg(scores: np.ndarray, positives: Sequence[int], exclude: Sequence[int], k: int) -> float:
    s = scores.astype(np.float64, copy=True)
    if len(exclude):
        s[list(exclude)] = -np.inf
    top = top_k(s, k)
    pos = set(int(p) for p in positives)
    dcg = sum(1.0 / np.log2(r + 2) for r, i in enumerate(top) if int(i) in pos)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(pos), k)))
    return dcg / ideal if ideal else 0.0


def mean_ndcg(cases: Sequence[dict], weights: Mapping[str, float], k: int) -> float:
    """Mean NDCG@k of the fused scores over cases ``{"scores": {model: normalised},
    "positives": [...], "exclude": [...]}``."""
    if not cases:
        return 0.0
    return float(
        np.mean([_ndcg(fuse(c["scores"], weights), c["positives"], c["exclude"], k) for c in cases])
    )


def fit_weights(
    cases: Sequence[dict], names: Sequence[str], k: int = 10, step: float = 0.1
) -> tuple[dict[str, float], float]:
    """(best weights on the grid, their mean NDCG@k) over the cases."""
    best, best_value = None, -1.0
    for weights in weight_grid(names, step):
        value = mean_ndcg(cases, weights, k)
        if value > best_value + 1e-12:
            best, best_value = weights, value
    return best or {n: 1.0 / len(names) for n in names}, best_value


def fold_weights(
    cases: Sequence[dict], names: Sequence[str], k: int = 10, step: float = 0.1
) -> list[dict[str, float]]:
    """For each case, the weights fitted on the other fold (cases alternate between two
    folds), so no case is scored with weights fitted on it. One case: its own weights."""
    if len(cases) < 2:
        return [fit_weights(cases, names, k, step)[0]] * len(cases)
    a, b = cases[0::2], cases[1::2]
    wa, _ = fit_weights(a, names, k, step)
    wb, _ = fit_weights(b, names, k, step)
    return [wb if i % 2 == 0 else wa for i in range(len(cases))]


def cross_fitted(
    cases: Sequence[dict], names: Sequence[str], k: int = 10, step: float = 0.1
) -> float:
    """Mean NDCG@k of weights fitted on the other half of the cases (two folds)."""
    if not cases:
        return 0.0
    weights = fold_weights(cases, names, k, step)
    return float(
        np.mean(
            [
                _ndcg(fuse(c["scores"], w), c["positives"], c["exclude"], k)
                for c, w in zip(cases, weights, strict=True)
            ]
        )
    )
