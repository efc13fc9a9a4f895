"""The statistics module against statsmodels/scipy and textbook values, and its edge cases."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from merchandising.experiments import stats

sm_prop = pytest.importorskip("statsmodels.stats.proportion")


@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (10, 50), (50, 50), (3, 7), (4481, 10000)])
def test_wilson_interval_matches_statsmodels(x, n):
    low, high = stats.wilson_interval(x, n)
    ref_low, ref_high = sm_prop.proportion_confint(x, n, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


def test_wilson_interval_textbook_and_bounds():
    # Agresti & Coull (1998): Wilson 95% interval for 0/20 is [0, 0.161]
    low, high = stats.wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)
    low, high = stats.wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(1 - 0.1611, abs=1e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    "xt,nt,xc,nc", [(20, 100, 10, 100), (0, 30, 5, 30), (30, 30, 29, 30), (1, 5, 0, 4)]
)
def test_newcombe_interval_matches_statsmodels(xt, nt, xc, nc):
    low, high = stats.newcombe_diff_interval(xt, nt, xc, nc)
    ref = sm_prop.confint_proportions_2indep(xt, nt, xc, nc, method="newcomb", compare="diff")
    assert low == pytest.approx(ref[0], abs=1e-10)
    assert high == pytest.approx(ref[1], abs=1e-10)


def test_ratio_interval_matches_statsmodels_log_method():
    low, high = stats.ratio_log_interval(20, 100, 10, 100)
    ref = sm_prop.confint_proportions_2indep(20, 100, 10, 100, method="log", compare="ratio")
    assert low == pytest.approx(ref[0] - 1, abs=1e-10)
    assert high == pytest.approx(ref[1] - 1, abs=1e-10)
    assert stats.ratio_log_interval(0, 100, 10, 100) == (None, None)


@pytest.mark.parametrize(
    "xt,nt,xc,nc", [(20, 100, 10, 100), (8279, 45489, 8502, 44700), (3, 9, 1, 11)]
)
def test_ztest_matches_statsmodels(xt, nt, xc, nc):
    z, p = stats.two_proportion_ztest(xt, nt, xc, nc)
    ref_z, ref_p = sm_prop.proportions_ztest([xt, xc], [nt, nc])
    assert z == pytest.approx(ref_z, rel=1e-10)
    assert p == pytest.approx(ref_p, rel=1e-10)


def test_ztest_edge_cases():
    assert stats.two_proportion_ztest(0, 100, 0, 100) == (0.0, 1.0)
    assert stats.two_proportion_ztest(100, 100, 50, 50) == (0.0, 1.0)
    assert stats.two_proportion_ztest(5, 10, 0, 0) == (None, None)
    with pytest.raises(ValueError):
        stats.two_proportion_ztest(11, 10, 0, 10)


def test_srm_matches_scipy_chisquare():
    observed = [50_400, 49_600, 25_300]
    shares = [0.4, 0.4, 0.2]
    total = sum(observed)
    ref = sps.chisquare(observed, [total * s for s in shares]).pvalue
    assert stats.srm_test(observed, shares) == pytest.approx(ref, rel=1e-9)
    # a 50.6/49.4 split on 100k visitors is a mismatch worth a warning (p ~ 1.5e-4)
    assert stats.srm_test([50_600, 49_400]) < stats.SRM_THRESHOLD


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    ps = [0.01, 0.04, 0.03, 0.005, 0.5]
    ref = multipletests(ps, method="holm")[1]
    assert stats.holm_adjust(ps) == pytest.approx(list(ref))
    assert stats.holm_adjust([0.02, None]) == [0.02, None]


def test_welch_from_sums_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.exponential(3.0, 400) * (rng.random(400) < 0.1)
    b = rng.exponential(3.5, 350) * (rng.random(350) < 0.1)
    res = stats.welch_ttest(len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum())
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert res["t"] == pytest.approx(ref.statistic, rel=1e-9)
    assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert res["ci_low"] == pytest.approx(ci.low, rel=1e-8)
    assert res["ci_high"] == pytest.approx(ci.high, rel=1e-8)


def test_welch_tiny_samples_do_not_crash():
    assert stats.welch_ttest(1, 5.0, 25.0, 1, 3.0, 9.0)["p_value"] is None
    assert stats.welch_ttest(3, 0.0, 0.0, 3, 0.0, 0.0)["p_value"] == 1.0


def test_probability_to_beat_matches_monte_carlo():
    rng = np.random.default_rng(7)
    a = rng.beta(11, 91, 1_000_000)
    b = rng.beta(21, 81, 1_000_000)
    assert stats.prob_b_beats_a(11, 91, 21, 81) == pytest.approx((b > a).mean(), abs=2e-3)
    assert stats.expected_loss(21, 81, 11, 91) == pytest.approx(
        np.maximum(a - b, 0).mean(), abs=2e-4
    )
    assert stats.expected_loss(11, 91, 21, 81) == pytest.approx(
        np.maximum(b - a, 0).mean(), abs=5e-4
    )


def test_probability_to_beat_symmetry_and_uniform():
    assert stats.prob_b_beats_a(1, 1, 1, 1) == pytest.approx(0.5)
    assert stats.prob_b_beats_a(5, 20, 5, 20) == pytest.approx(0.5, abs=1e-12)
    p = stats.prob_b_beats_a(30, 70, 40, 60)
    assert p + stats.prob_b_beats_a(40, 60, 30, 70) == pytest.approx(1.0)


def test_sample_size_matches_fleiss_and_statsmodels():
    # 10% baseline, +2 points: (1.96 sqrt(2*.11*.89) + .8416 sqrt(.09+.1056))^2 / .02^2 = 3841
    assert stats.sample_size_per_arm(0.10, 0.20) == 3841
    ref = sm_prop.samplesize_proportions_2indep_onetail(
        0.02, 0.10, 0.8, alpha=0.05, alternative="two-sided"
    )
    assert stats.sample_size_per_arm(0.10, 0.02, relative=False) == math.ceil(ref)
    assert stats.sample_size_per_arm(0.0, 0.05) is None
    assert stats.sample_size_per_arm(0.99, 0.05) is None


def test_analyze_output_shape_and_numbers():
    res = stats.analyze(
        [
            {"name": "A", "units": 1000, "conversions": 100},
            {"name": "B", "units": 1000, "conversions": 130},
        ]
    )
    a, b = res["variants"]
    for key in ("name", "units", "conversions", "rate", "ci_low", "ci_high"):
        assert key in a and key in b
    for key in (
        "abs_uplift",
        "rel_uplift",
        "uplift_ci_low",
        "uplift_ci_high",
        "p_value",
        "prob_beat_control",
        "expected_loss",
    ):
        assert key in b
    assert b["abs_uplift"] == pytest.approx(0.03)
    assert b["rel_uplift"] == pytest.approx(0.3)
    assert res["srm_p_value"] == pytest.approx(1.0)
    assert res["decision"]["status"] == "winner"
    assert res["decision"]["sentence"].startswith("Variant B is ahead with 98% probability")


def test_analyze_edge_cases_zero_full_and_empty_arms():
    zero = stats.analyze({"A": (50, 0), "B": (50, 0)})
    assert zero["variants"][1]["p_value"] == 1.0
    assert zero["variants"][1]["rel_uplift"] is None
    assert zero["decision"]["sentence"].startswith("Not enough data")
    full = stats.analyze({"A": (20, 20), "B": (20, 20)})
    assert full["variants"][1]["prob_beat_control"] == pytest.approx(0.5)
    empty = stats.analyze({"A": (100, 10), "B": (0, 0)})
    b = empty["variants"][1]
    assert b["rate"] is None and b["p_value"] is None and b["uplift_ci_low"] is None
    assert "no visitors" in empty["decision"]["sentence"]
    tiny = stats.analyze({"A": (1, 0), "B": (1, 1)})
    assert 0 <= tiny["variants"][1]["p_value"] <= 1
    assert not tiny["variants"][1]["significant"]


def test_analyze_several_treatments_uses_holm_and_srm_warning():
    res = stats.analyze({"A": (10_000, 1000), "B": (10_000, 1080), "C": (10_000, 1010)})
    b, c = res["variants"][1], res["variants"][2]
    assert res["correction"] == "holm"
    assert b["p_value_holm"] >= b["p_value"] and c["p_value_holm"] >= c["p_value"]
    srm = stats.analyze({"A": (10_000, 1000), "B": (11_000, 1100)})
    assert srm["srm_warning"] and srm["decision"]["status"] == "srm"


def test_analyze_revenue_uses_welch():
    rng = np.random.default_rng(3)
    a = rng.exponential(20, 2000) * (rng.random(2000) < 0.05)
    b = rng.exponential(20, 2000) * (rng.random(2000) < 0.08)
    rows = [
        {
            "name": n,
            "units": len(v),
            "conversions": int((v > 0).sum()),
            "value_sum": v.sum(),
            "value_sumsq": (v * v).sum(),
        }
        for n, v in (("A", a), ("B", b))
    ]
    res = stats.analyze(rows)
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert res["variants"][1]["value_p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert res["variants"][1]["value_diff"] == pytest.approx(b.mean() - a.mean())


@pytest.mark.parametrize("sequential", [True, False])
def test_a_clear_loser_is_called_a_loser_with_the_interval_in_force(sequential):
    res = stats.analyze({"A": (4000, 400), "B": (4000, 160)}, sequential=sequential)
    b = res["variants"][1]
    low, high = stats.interval_in_force(res, b)
    if sequential:
        assert (low, high) == (b["always_valid_ci_low"], b["always_valid_ci_high"])
    else:
        assert (low, high) == (b["uplift_ci_low"], b["uplift_ci_high"])
    decision = res["decision"]
    assert decision["status"] == "control" and decision["losers"] == ["B"]
    assert decision["sentence"].startswith("Variant B is a loser: keep A.")
    # The headline quotes the one interval the table and the chart show.
    assert f"between {100 * low:+.2f} and {100 * high:+.2f} points" in decision["sentence"]
    assert "Not enough data" not in decision["sentence"]


def test_a_loser_next_to_an_undecided_variant_is_named_and_the_rest_is_not_enough_data():
    res = stats.analyze({"A": (4000, 400), "B": (4000, 160), "C": (4000, 410)}, sequential=True)
    decision = res["decision"]
    assert decision["status"] == "loser" and decision["losers"] == ["B"]
    assert decision["sentence"].startswith("Variant B loses to A")
    assert "For the others, not enough data under the always-valid test" in decision["sentence"]


def test_not_enough_data_names_the_inference_and_a_trailing_variant():
    # The z-test alone would call this (p < 0.05); the always-valid test in force cannot yet.
    res = stats.analyze({"A": (400, 40), "B": (400, 16)}, sequential=True)
    b = res["variants"][1]
    assert b["p_value"] < 0.01 and not b["significant"]
    sentence = res["decision"]["sentence"]
    assert sentence.startswith("Not enough data under the always-valid test so far")
    assert "B is trailing" in sentence
    low, high = stats.interval_in_force(res, b)
    assert f"between {100 * low:+.2f} and {100 * high:+.2f} points" in sentence
