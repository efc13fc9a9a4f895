"""Deterministic, sticky, stateless variant assignment. Pure: no Django import.

A visitor's bucket is a hash of the experiment key and the visitor id into 10,000
buckets; each variant owns a contiguous range of buckets whose length is its weight times
the experiment's traffic share. The same visitor therefore gets the same variant on any
server without storing anything, and different experiments (different keys) assign
independently.

The hash is GrowthBook's "hash version 2" (growthbook SDKs, ``hash(seed, value, 2)``):
    n = fnv1a32(str(fnv1a32(seed + value))) % 10000
with FNV-1a 32-bit (Fowler, Noll & Vo; offset basis 0x811C9DC5, prime 0x01000193),
the seed being the experiment key. The second round fixes the poor low-bit mixing of
one FNV round on short, similar ids. PostHog's feature flags use the same idea (a stable
hash of flag key + distinct id mapped into [0, 1), there with SHA-1). The bucket ranges
follow GrowthBook's ``getBucketRanges``: variant i owns
[start_i, start_i + coverage * w_i) where start_i = sum_{j<i} w_j, so raising the
traffic share keeps everyone already in the test in their variant.
Python's built-in ``hash()`` is salted per process and must never be used here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

BUCKETS = 10_000
MAX_VISITOR_ID_LENGTH = 200  # same limit as the storefront API
WEIGHT_TOLERANCE = 1e-6

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a over the string's code points (as GrowthBook does)."""
    h = _FNV_OFFSET
    for ch in text:
        h = ((h ^ ord(ch)) * _FNV_PRIME) & _MASK
    return h


def bucket(experiment_key: str, visitor_id: str) -> int:
    """The visitor's bucket in [0, 10000) for this experiment (GrowthBook hash v2)."""
    return fnv1a32(str(fnv1a32(experiment_key + visitor_id))) % BUCKETS


def validate_visitor_id(visitor_id: object) -> str:
    """Return the visitor id, or raise ValueError if it is missing, too long or not printable."""
    if not isinstance(visitor_id, str) or not visitor_id.strip():
        raise ValueError("visitor_id is required")
    if len(visitor_id) > MAX_VISITOR_ID_LENGTH:
        raise ValueError(f"visitor_id is longer than {MAX_VISITOR_ID_LENGTH} characters")
    if not visitor_id.isprintable():
        raise ValueError("visitor_id contains control characters")
    return visitor_id


def validate_weights(weights: Sequence[float]) -> list[float]:
    """Weights must be at least two non-negative numbers, not all zero, summing to 1."""
    ws = [float(w) for w in weights]
    if len(ws) < 2:
        raise ValueError("an experiment needs at least two variants")
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    if abs(sum(ws) - 1.0) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights must sum to 1 (they sum to {sum(ws):.6g})")
    return ws


@lru_cache(maxsize=4096)
def bucket_ranges(
    weights: tuple[float, ...], traffic_share: float = 1.0
) -> tuple[tuple[int, int], ...]:
    """Half-open bucket ranges [start, end) per variant (GrowthBook ``getBucketRanges``)."""
    if not 0.0 <= traffic_share <= 1.0:
        raise ValueError("traffic share must be between 0 and 1")
    ws = validate_weights(weights)
    ranges = []
    cumulative = 0.0
    for w in ws:
        start = round(cumulative * BUCKETS)
        ranges.append((start, start + round(traffic_share * w * BUCKETS)))
        cumulative += w
    return tuple(ranges)


def variant_index(
    experiment_key: str, visitor_id: str, weights: Sequence[float], traffic_share: float = 1.0
) -> int | None:
    """Index of the visitor's variant, or None when the visitor falls outside the traffic share."""
    b = bucket(experiment_key, visitor_id)
    for i, (start, end) in enumerate(bucket_ranges(tuple(weights), traffic_share)):
        if start <= b < end:
            return i
    return None
