"""CSV analysis: parsing rules, and the cookie_cats check against the published result."""

import io
from pathlib import Path

import pytest

from merchandising.experiments.analysis import AnalysisInputError, analyze_csv

COOKIE_CATS = Path("/work/shared/data/cookie_cats/cookie_cats.csv")


def _csv(text):
    return io.StringIO(text.strip() + "\n")


def test_converted_column_accepts_1_0_true_false_any_case():
    data = _csv("""
arm,bought
A,1
A,0
A,TRUE
A,false
B,True
B,FALSE
B,0
B,1
""")
    res = analyze_csv(data, variant_col="arm", converted_col="bought")
    a, b = res["variants"]
    assert (a["name"], a["units"], a["conversions"]) == ("A", 4, 2)
    assert (b["name"], b["units"], b["conversions"]) == ("B", 4, 2)


def test_unit_column_keeps_only_each_units_first_row():
    data = _csv("""
user,arm,bought,revenue
u1,A,0,0
u1,A,1,30
u2,A,1,10
u3,B,1,20
u3,B,1,20
u4,B,0,0
""")
    res = analyze_csv(
        data,
        variant_col="arm",
        converted_col="bought",
        unit_col="user",
        value_col="revenue",
        control="A",
    )
    a, b = res["variants"]
    assert (a["units"], a["conversions"], a["value_sum"]) == (2, 1, 10.0)
    assert (b["units"], b["conversions"], b["value_sum"]) == (2, 1, 20.0)
    assert "value_p_value" in b


def test_bad_input_is_reported_clearly():
    with pytest.raises(AnalysisInputError, match="column 'nope'"):
        analyze_csv(_csv("arm,bought\nA,1\nB,0"), variant_col="nope", converted_col="bought")
    with pytest.raises(AnalysisInputError, match="line 3"):
        analyze_csv(_csv("arm,bought\nA,1\nB,maybe"), variant_col="arm", converted_col="bought")
    with pytest.raises(AnalysisInputError, match="two variants"):
        analyze_csv(_csv("arm,bought\nA,1\nA,0"), variant_col="arm", converted_col="bought")
    with pytest.raises(AnalysisInputError, match="control"):
        analyze_csv(
            _csv("arm,bought\nA,1\nB,0"), variant_col="arm", converted_col="bought", control="C"
        )


@pytest.mark.skipif(
    not COOKIE_CATS.exists(), reason="shared data set /work/shared/data/cookie_cats is absent"
)
@pytest.mark.parametrize(
    "column,published_30,published_40",
    [("retention_1", 0.448, 0.442), ("retention_7", 0.190, 0.182)],
)
def test_cookie_cats_reproduces_published_rates(column, published_30, published_40):
    sm_prop = pytest.importorskip("statsmodels.stats.proportion")
    res = analyze_csv(
        COOKIE_CATS,
        variant_col="version",
        converted_col=column,
        unit_col="userid",
        control="gate_30",
    )
    g30, g40 = res["variants"]
    assert (g30["name"], g40["name"]) == ("gate_30", "gate_40")
    assert (g30["units"], g40["units"]) == (44700, 45489)
    assert round(g30["rate"], 3) == published_30
    assert round(g40["rate"], 3) == published_40
    z, p = sm_prop.proportions_ztest(
        [g40["conversions"], g30["conversions"]], [g40["units"], g30["units"]]
    )
    assert g40["p_value"] == pytest.approx(p, rel=1e-9)
    low, high = sm_prop.confint_proportions_2indep(
        g40["conversions"], g40["units"], g30["conversions"], g30["units"], method="newcomb"
    )
    assert (g40["uplift_ci_low"], g40["uplift_ci_high"]) == pytest.approx((low, high), rel=1e-9)
