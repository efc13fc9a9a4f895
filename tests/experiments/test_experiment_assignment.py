"""Assignment is uniform, sticky, independent across experiments, and refuses bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from merchandising.experiments import assignment

N_IDS = 1_000_000


@pytest.fixture(scope="module")
def million_buckets():
    bucket = assignment.bucket
    return np.fromiter(
        (bucket("copy-test-42", f"v{i}") for i in range(N_IDS)), dtype=np.int32, count=N_IDS
    )


def test_fnv1a32_reference_vectors():
    # published FNV-1a 32-bit test vectors (Fowler/Noll/Vo)
    assert assignment.fnv1a32("") == 0x811C9DC5
    assert assignment.fnv1a32("a") == 0xE40C292C
    assert assignment.fnv1a32("foobar") == 0xBF9CF968


def test_buckets_are_uniform_over_a_million_ids(million_buckets):
    counts = np.bincount(million_buckets, minlength=assignment.BUCKETS)
    assert counts.size == assignment.BUCKETS
    assert sps.chisquare(counts).pvalue > 0.001
    # and a 50/50 test splits a million visitors with no sample-ratio mismatch
    in_b = (million_buckets >= 5000).sum()
    assert sps.chisquare([N_IDS - in_b, in_b]).pvalue > 0.001


def test_assignment_is_sticky_across_processes():
    ids = [f"visitor-{i}" for i in range(200)]
    here = [assignment.variant_index("exp-a", v, (0.5, 0.3, 0.2)) for v in ids]
    assert here == [assignment.variant_index("exp-a", v, (0.5, 0.3, 0.2)) for v in ids]
    code = (
        "from merchandising.experiments import assignment as a;"
        "print([a.variant_index('exp-a', f'visitor-{i}', (0.5, 0.3, 0.2)) for i in range(200)])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == str(here)


def test_experiments_assign_independently():
    ids = [f"u{i}" for i in range(100_000)]
    a = np.array([assignment.variant_index("exp-one", v, (0.5, 0.5)) for v in ids])
    b = np.array([assignment.variant_index("exp-two", v, (0.5, 0.5)) for v in ids])
    table = [[np.sum((a == i) & (b == j)) for j in (0, 1)] for i in (0, 1)]
    assert sps.chi2_contingency(table).pvalue > 0.001


def test_weights_and_traffic_share():
    ids = [f"w{i}" for i in range(50_000)]
    got = [assignment.variant_index("exp-w", v, (0.2, 0.8), traffic_share=0.5) for v in ids]
    share_in = sum(g is not None for g in got) / len(ids)
    assert share_in == pytest.approx(0.5, abs=0.01)
    in_b = sum(g == 1 for g in got) / sum(g is not None for g in got)
    assert in_b == pytest.approx(0.8, abs=0.01)
    # raising the traffic share keeps everyone already in the test in their variant
    wider = [assignment.variant_index("exp-w", v, (0.2, 0.8), traffic_share=0.9) for v in ids]
    assert all(w == g for g, w in zip(got, wider, strict=True) if g is not None)


@pytest.mark.parametrize("weights", [(0.5, 0.4), (0.6, 0.6), (1.0,), (-0.5, 1.5)])
def test_weights_that_do_not_sum_up_are_refused(weights):
    with pytest.raises(ValueError):
        assignment.validate_weights(weights)


@pytest.mark.parametrize("visitor_id", ["", "   ", None, "x" * 201, "bad\nid"])
def test_bad_visitor_ids_are_refused(visitor_id):
    with pytest.raises(ValueError):
        assignment.validate_visitor_id(visitor_id)
    assert assignment.validate_visitor_id("x" * 200) == "x" * 200
