"""Statistics for conversion-rate A/B tests. Pure: no Django import.

Every function states the formula it implements and where it comes from. Rates are
fractions (0.448, not 44.8). Undefined quantities (a rate with no units, a relative
uplift over a control that never converted) are ``None`` rather than NaN, so the JSON
output stays valid.

Sources
-------
- Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
  inference. JASA 22(158), 209-212.  Agresti, A. & Coull, B. A. (1998). Approximate is
  better than "exact" for interval estimation of binomial proportions. Am. Stat. 52(2).
- Newcombe, R. G. (1998). Interval estimation for the difference between independent
  proportions: comparison of eleven methods. Stat. Med. 17, 873-890 (method 10, the
  hybrid score interval built from two Wilson intervals).
- Katz, D., Baptista, J., Azen, S. P. & Pike, M. C. (1978). Obtaining confidence
  intervals for the risk ratio in cohort studies. Biometrics 34, 469-474 (log method).
- Two-proportion z-test with pooled variance: e.g. Agresti, Categorical Data Analysis
  (3rd ed., 2013), section 3.1; identical to statsmodels ``proportions_ztest``.
- Miller, E. (2015). Formulas for Bayesian A/B testing.
  https://www.evanmiller.org/bayesian-ab-testing.html (closed form of P(p_B > p_A)).
- Stucchio, C. (2015). Bayesian A/B testing at VWO (whitepaper), expected loss
  E[max(p_A - p_B, 0)].
- Pearson's chi-square goodness-of-fit for sample-ratio mismatch: Fabijan, A. et al.
  (2019). Diagnosing sample ratio mismatch in online controlled experiments. KDD.
- Holm, S. (1979). A simple sequentially rejective multiple test procedure.
  Scand. J. Statist. 6, 65-70.
- Welch, B. L. (1947). The generalization of "Student's" problem when several different
  population variances are involved. Biometrika 34, 28-35.
- Fleiss, J. L., Levin, B. & Paik, M. C. (2003). Statistical Methods for Rates and
  Proportions (3rd ed.), eq. 4.14 (sample size, two proportions, no continuity correction).
- Johari, R., Koomen, P., Pekelis, L. & Walsh, D. (2017). Peeking at A/B tests: why it
  matters, and what to do about it. KDD; and Johari, Pekelis & Walsh (2022), Always valid
  inference: continuous monitoring of A/B tests. Operations Research 70(3). Mixture
  sequential probability ratio test (mSPRT) with a normal mixing distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy import special

_STD_NORMAL = NormalDist()

SRM_THRESHOLD = 0.001
DEFAULT_MDE = 0.05  # relative lift used for "about N more visitors" advice
DEFAULT_MIXTURE_SCALE = 0.1  # mSPRT tau as a fraction of the pooled rate (see msprt)


# --------------------------------------------------------------------------- helpers


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal, 1 - Phi(z) (computed via erfc for accuracy)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def z_quantile(q: float) -> float:
    """Standard normal quantile Phi^-1(q)."""
    return _STD_NORMAL.inv_cdf(q)


def _rate(conversions: int, units: int) -> float | None:
    return conversions / units if units > 0 else None


def _check_counts(conversions: int, units: int) -> None:
    if units < 0 or conversions < 0:
        raise ValueError("counts must be non-negative")
    if conversions > units:
        raise ValueError(f"conversions ({conversions}) exceed units ({units})")


# --------------------------------------------------------------------------- intervals


def wilson_interval(conversions: int, units: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson (1927) score interval for a binomial proportion.

    With z = Phi^-1(1 - alpha/2), p = x/n:
        centre = (x + z^2/2) / (n + z^2)
        half   = z / (n + z^2) * sqrt(x (n - x) / n + z^2 / 4)
    It stays inside [0, 1] and keeps a non-zero width at 0% and 100%, which the Wald
    interval does not (Agresti & Coull 1998). With n = 0 the interval is [0, 1].
    """
    _check_counts(conversions, units)
    if units == 0:
        return 0.0, 1.0
    z = z_quantile(1 - alpha / 2)
    z2 = z * z
    denom = units + z2
    centre = (conversions + z2 / 2) / denom
    half = z / denom * math.sqrt(conversions * (units - conversions) / units + z2 / 4)
    low = 0.0 if conversions == 0 else max(0.0, centre - half)
    high = 1.0 if conversions == units else min(1.0, centre + half)
    return low, high


def newcombe_diff_interval(
    conv_t: int, units_t: int, conv_c: int, units_c: int, alpha: float = 0.05
) -> tuple[float | None, float | None]:
    """Newcombe (1998) hybrid score interval (method 10) for p_t - p_c.

    With Wilson intervals (l_t, u_t) and (l_c, u_c) and d = p_t - p_c:
        low  = d - sqrt((p_t - l_t)^2 + (u_c - p_c)^2)
        high = d + sqrt((u_t - p_t)^2 + (p_c - l_c)^2)
    Chosen over the Wald interval because it behaves at 0/100% and with small n.
    Matches statsmodels ``confint_proportions_2indep(method="newcomb")``.
    """
    if units_t == 0 or units_c == 0:
        return None, None
    p_t, p_c = conv_t / units_t, conv_c / units_c
    l_t, u_t = wilson_interval(conv_t, units_t, alpha)
    l_c, u_c = wilson_interval(conv_c, units_c, alpha)
    d = p_t - p_c
    low = d - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = d + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return low, high


def ratio_log_interval(
    conv_t: int, units_t: int, conv_c: int, units_c: int, alpha: float = 0.05
) -> tuple[float | None, float | None]:
    """Interval for the relative uplift p_t / p_c - 1 by the log method (Katz et al. 1978).

    log(RR) +/- z * sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c), then exp(.) - 1.
    Undefined (None) when either arm has no conversions.
    """
    if units_t == 0 or units_c == 0 or conv_t == 0 or conv_c == 0:
        return None, None
    z = z_quantile(1 - alpha / 2)
    log_rr = math.log((conv_t / units_t) / (conv_c / units_c))
    se = math.sqrt(max(0.0, 1 / conv_t - 1 / units_t + 1 / conv_c - 1 / units_c))
    return math.exp(log_rr - z * se) - 1, math.exp(log_rr + z * se) - 1


# --------------------------------------------------------------------------- tests


def two_proportion_ztest(
    conv_t: int, units_t: int, conv_c: int, units_c: int
) -> tuple[float | None, float | None]:
    """Two-sided two-proportion z-test with pooled variance.

    p = (x_t + x_c) / (n_t + n_c);  z = (p_t - p_c) / sqrt(p (1 - p) (1/n_t + 1/n_c));
    p-value = 2 (1 - Phi(|z|)). When the pooled rate is 0 or 1 both arms agree exactly,
    so z = 0 and p = 1. Returns (None, None) when an arm is empty.
    """
    _check_counts(conv_t, units_t)
    _check_counts(conv_c, units_c)
    if units_t == 0 or units_c == 0:
        return None, None
    pooled = (conv_t + conv_c) / (units_t + units_c)
    var = pooled * (1 - pooled) * (1 / units_t + 1 / units_c)
    if var <= 0:
        return 0.0, 1.0
    z = (conv_t / units_t - conv_c / units_c) / math.sqrt(var)
    return z, min(1.0, 2 * normal_sf(abs(z)))


def srm_test(
    observed: Sequence[int], expected_shares: Sequence[float] | None = None
) -> float | None:
    """Sample-ratio-mismatch p-value: Pearson chi-square goodness of fit.

    chi2 = sum_i (O_i - E_i)^2 / E_i with E_i = N * w_i / sum(w), k - 1 degrees of
    freedom (Fabijan et al. 2019). Shares default to equal. None with fewer than two
    arms or no units at all.
    """
    k = len(observed)
    total = sum(observed)
    if k < 2 or total == 0:
        return None
    shares = list(expected_shares) if expected_shares is not None else [1.0] * k
    if len(shares) != k or any(s <= 0 for s in shares):
        raise ValueError("expected_shares must be positive, one per arm")
    s = sum(shares)
    chi2 = sum(
        (o - total * w / s) ** 2 / (total * w / s) for o, w in zip(observed, shares, strict=True)
    )
    return float(special.chdtrc(k - 1, chi2))


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm (1979) step-down adjusted p-values (controls the family-wise error rate).

    Sort the m p-values ascending p_(1) <= ... <= p_(m); adjusted
    p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). None entries are left out of m.
    """
    idx = [i for i, p in enumerate(p_values) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def welch_ttest(
    n1: int, sum1: float, sumsq1: float, n2: int, sum2: float, sumsq2: float, alpha: float = 0.05
) -> dict[str, float | None]:
    """Welch (1947) unequal-variance t-test from sufficient statistics (group 1 minus group 2).

    mean = S/n, var = (Q - S^2/n) / (n - 1); se = sqrt(v1/n1 + v2/n2);
    t = (m1 - m2) / se; Welch-Satterthwaite df = se^4 / ((v1/n1)^2/(n1-1) + (v2/n2)^2/(n2-1)).
    Works from sums and sums of squares so daily roll-ups suffice (no raw values).
    """
    out: dict[str, float | None] = {
        "diff": None,
        "t": None,
        "df": None,
        "p_value": None,
        "ci_low": None,
        "ci_high": None,
    }
    if n1 < 2 or n2 < 2:
        if n1 > 0 and n2 > 0:
            out["diff"] = sum1 / n1 - sum2 / n2
        return out
    m1, m2 = sum1 / n1, sum2 / n2
    v1 = max(0.0, (sumsq1 - sum1 * sum1 / n1) / (n1 - 1))
    v2 = max(0.0, (sumsq2 - sum2 * sum2 / n2) / (n2 - 1))
    a, b = v1 / n1, v2 / n2
    out["diff"] = m1 - m2
    se2 = a + b
    if se2 <= 0:
        out["p_value"] = 1.0 if m1 == m2 else 0.0
        out["ci_low"] = out["ci_high"] = m1 - m2
        return out
    se = math.sqrt(se2)
    df = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    t = (m1 - m2) / se
    out["t"], out["df"] = t, df
    out["p_value"] = float(2 * special.stdtr(df, -abs(t)))
    tq = float(special.stdtrit(df, 1 - alpha / 2))
    out["ci_low"], out["ci_high"] = m1 - m2 - tq * se, m1 - m2 + tq * se
    return out


# --------------------------------------------------------------------------- Bayesian


def prob_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """P(p_B > p_A) for independent p_A ~ Beta(a_a, b_a), p_B ~ Beta(a_b, b_b), exactly.

    Evan Miller (2015), for integer a_b:
        P = sum_{i=0}^{a_b - 1} B(a_a + i, b_a + b_b) / ((b_b + i) B(1 + i, b_b) B(a_a, b_a))
    computed in log space. The sum runs over the smaller of a_a and a_b (using
    P(B > A) = 1 - P(A > B); ties have probability zero).
    """
    if a_b > a_a:
        return 1.0 - prob_b_beats_a(a_b, b_b, a_a, b_a)
    i = np.arange(int(a_b), dtype=np.float64)
    log_terms = (
        special.betaln(a_a + i, b_a + b_b)
        - np.log(b_b + i)
        - special.betaln(1 + i, b_b)
        - special.betaln(a_a, b_a)
    )
    total = float(np.exp(log_terms).sum())
    return min(1.0, max(0.0, total))


def expected_loss(a_ship: int, b_ship: int, a_other: int, b_other: int) -> float:
    """Expected loss of shipping arm S instead of arm O: E[max(p_O - p_S, 0)].

    Stucchio (2015), derived with the size-biasing identity p Beta(p; a, b) =
    a/(a+b) Beta(p; a+1, b):
        E[max(p_O - p_S, 0)] = a_O/(a_O+b_O) P(Beta(a_O+1, b_O) > Beta(a_S, b_S))
                             - a_S/(a_S+b_S) P(Beta(a_O, b_O) > Beta(a_S+1, b_S))
    """
    m_o = a_other / (a_other + b_other)
    m_s = a_ship / (a_ship + b_ship)
    loss = m_o * prob_b_beats_a(a_ship, b_ship, a_other + 1, b_other) - m_s * prob_b_beats_a(
        a_ship + 1, b_ship, a_other, b_other
    )
    return max(0.0, loss)


def beta_pdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Beta(a, b) density, exp((a-1) log x + (b-1) log(1-x) - log B(a, b)); for plots."""
    x = np.clip(np.asarray(x, dtype=np.float64), 1e-300, 1 - 1e-16)
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b))


# --------------------------------------------------------------------------- planning


def sample_size_per_arm(
    baseline: float, mde: float, *, relative: bool = True, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Units per arm to detect a change of the baseline rate with a two-sided z-test.

    Fleiss, Levin & Paik (2003), eq. 4.14 without continuity correction, with
    p1 = baseline, p2 = baseline (1 + mde) (relative) or baseline + mde (absolute),
    pbar = (p1 + p2)/2:
        n = (z_{1-alpha/2} sqrt(2 pbar (1-pbar)) + z_{power} sqrt(p1(1-p1) + p2(1-p2)))^2 / (p2 - p1)^2
    None when the target rate leaves (0, 1) or the effect is zero.
    """
    p1 = baseline
    p2 = baseline * (1 + mde) if relative else baseline + mde
    if not (0 < p1 < 1) or not (0 < p2 < 1) or p1 == p2:
        return None
    pbar = (p1 + p2) / 2
    za, zb = z_quantile(1 - alpha / 2), z_quantile(power)
    n = (
        za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p2 - p1) ** 2
    return math.ceil(n)


# --------------------------------------------------------------------------- sequential


def msprt(
    conv_t: int,
    units_t: int,
    conv_c: int,
    units_c: int,
    *,
    alpha: float = 0.05,
    tau: float | None = None,
    mixture_scale: float = DEFAULT_MIXTURE_SCALE,
) -> dict[str, float | None]:
    """Always-valid p-value and confidence interval for p_t - p_c at one look.

    Mixture SPRT of Johari, Pekelis & Walsh (2022) with a N(0, tau^2) mixing
    distribution on the difference theta, and the normal approximation for two
    Bernoulli streams. With estimate d = p_t - p_c and its variance V:
        Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))
        always-valid p-value (this look) = min(1, 1 / Lambda)
    The confidence interval inverts the same test:
        d +/- sqrt(V (V + tau^2) / tau^2 * (log((V + tau^2) / V) - 2 log alpha))
    V for the p-value uses the pooled rate (the null theta = 0), V for the interval the
    per-arm rates. Across looks the p-value is the running minimum and the interval the
    running intersection (see ``analyze(history=...)``), which is what keeps the
    false-positive rate below alpha however often one looks.

    tau: Johari et al. advise matching it to the effect sizes one expects. The default
    is mixture_scale times the pooled rate (a 10% relative lift), floored at 1e-4.
    """
    out: dict[str, float | None] = {"p_value": None, "ci_low": None, "ci_high": None, "tau": None}
    if units_t == 0 or units_c == 0:
        return out
    p_t, p_c = conv_t / units_t, conv_c / units_c
    pooled = (conv_t + conv_c) / (units_t + units_c)
    if tau is None:
        tau = max(1e-4, mixture_scale * pooled)
    tau2 = tau * tau
    out["tau"] = tau
    d = p_t - p_c
    v0 = pooled * (1 - pooled) * (1 / units_t + 1 / units_c)
    if v0 <= 0:
        out["p_value"] = 1.0
    else:
        log_lambda = 0.5 * math.log(v0 / (v0 + tau2)) + tau2 * d * d / (2 * v0 * (v0 + tau2))
        out["p_value"] = min(1.0, math.exp(-log_lambda))
    v = p_t * (1 - p_t) / units_t + p_c * (1 - p_c) / units_c
    if v <= 0:
        # both arms at 0% or 100%: fall back to the pooled variance so the width stays honest
        v = v0 if v0 > 0 else 0.25 * (1 / units_t + 1 / units_c)
    half = math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) - 2 * math.log(alpha)))
    out["ci_low"], out["ci_high"] = d - half, d + half
    return out


# --------------------------------------------------------------------------- analysis


def _normalise_variants(variants: Any) -> list[dict[str, Any]]:
    if isinstance(variants, Mapping):
        rows = []
        for name, v in variants.items():
            if isinstance(v, Mapping):
                rows.append({"name": name, **v})
            else:
                units, conversions = v
                rows.append({"name": name, "units": units, "conversions": conversions})
        variants = rows
    out = []
    for v in variants:
        row = dict(v)
        row["name"] = str(row["name"])
        row["units"] = int(row.get("units", 0))
        row["conversions"] = int(row.get("conversions", 0))
        _check_counts(row["conversions"], row["units"])
        out.append(row)
    if len({r["name"] for r in out}) != len(out):
        raise ValueError("variant names must be unique")
    return out


def analyze(
    variants: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    control: str | None = None,
    alpha: float = 0.05,
    sequential: bool = False,
    *,
    weights: Sequence[float] | None = None,
    history: Iterable[Mapping[str, tuple[int, int]]] | None = None,
    tau: float | None = None,
    mde: float = DEFAULT_MDE,
    planned_units_per_arm: int | None = None,
) -> dict[str, Any]:
    """Analyse a conversion experiment: one control against one or more treatments.

    variants: list of dicts ``{"name", "units", "conversions"}`` and optionally
      ``value_sum``/``value_sumsq`` (sum and sum of squares of a per-unit value such as
      revenue, over all units, zeros included) and ``weight`` (configured share); or a
      mapping name -> (units, conversions).
    control: the control's name (default: the first variant).
    sequential: use always-valid inference (mSPRT) for the decision. The fixed-horizon
      p-value and interval are always reported too, so numbers stay comparable with
      other tools; ``inference`` says which one the decision rests on.
    history: cumulative snapshots [{name: (units, conversions)}, ...] in time order
      (e.g. one per day); with sequential=True the always-valid p-value is the running
      minimum and the interval the running intersection over them and the current look.
    weights: configured shares for the SRM check (default: each variant's ``weight``
      if given, else equal).

    Returns a JSON-serialisable dict: ``variants`` (per variant: name, units,
    conversions, rate, ci_low, ci_high, is_control; per treatment also abs_uplift,
    rel_uplift, uplift_ci_low/high (Newcombe, absolute), rel_uplift_ci_low/high
    (Katz log), z, p_value (two-proportion z-test), p_value_holm, prob_beat_control,
    expected_loss (of shipping it), always_valid_p_value, always_valid_ci_low/high,
    significant; revenue fields when values are given), srm_p_value, srm_warning,
    inference, correction, decision (sentence and winner).
    """
    rows = _normalise_variants(variants)
    if not rows:
        raise ValueError("no variants")
    names = [r["name"] for r in rows]
    control = names[0] if control is None else str(control)
    if control not in names:
        raise ValueError(f"control {control!r} is not one of {names}")
    ctrl = rows[names.index(control)]
    has_value = all("value_sum" in r for r in rows)
    x_c, n_c = ctrl["conversions"], ctrl["units"]

    snapshots = list(history or [])
    result_variants = []
    for r in rows:
        low, high = wilson_interval(r["conversions"], r["units"], alpha)
        entry: dict[str, Any] = {
            "name": r["name"],
            "units": r["units"],
            "conversions": r["conversions"],
            "rate": _rate(r["conversions"], r["units"]),
            "ci_low": low,
            "ci_high": high,
            "is_control": r["name"] == control,
        }
        if has_value:
            entry["value_sum"] = float(r["value_sum"])
            entry["value_per_unit"] = float(r["value_sum"]) / r["units"] if r["units"] else None
        if r["name"] != control:
            x_t, n_t = r["conversions"], r["units"]
            p_t, p_c = entry["rate"], _rate(x_c, n_c)
            entry["abs_uplift"] = p_t - p_c if p_t is not None and p_c is not None else None
            entry["rel_uplift"] = (p_t - p_c) / p_c if p_t is not None and p_c else None
            entry["uplift_ci_low"], entry["uplift_ci_high"] = newcombe_diff_interval(
                x_t, n_t, x_c, n_c, alpha
            )
            entry["rel_uplift_ci_low"], entry["rel_uplift_ci_high"] = ratio_log_interval(
                x_t, n_t, x_c, n_c, alpha
            )
            entry["z"], entry["p_value"] = two_proportion_ztest(x_t, n_t, x_c, n_c)
            # Beta(1, 1) prior: posterior Beta(1 + x, 1 + n - x)
            a_t, b_t, a_c, b_c = 1 + x_t, 1 + n_t - x_t, 1 + x_c, 1 + n_c - x_c
            entry["prob_beat_control"] = prob_b_beats_a(a_c, b_c, a_t, b_t)
            entry["expected_loss"] = expected_loss(a_t, b_t, a_c, b_c)
            entry["expected_loss_control"] = expected_loss(a_c, b_c, a_t, b_t)
            seq = msprt(x_t, n_t, x_c, n_c, alpha=alpha, tau=tau)
            seq_p, seq_lo, seq_hi = seq["p_value"], seq["ci_low"], seq["ci_high"]
            for snap in snapshots:
                if r["name"] not in snap or control not in snap:
                    continue
                (sn_t, sx_t), (sn_c, sx_c) = snap[r["name"]], snap[control]
                past = msprt(int(sx_t), int(sn_t), int(sx_c), int(sn_c), alpha=alpha, tau=tau)
                if past["p_value"] is not None:
                    seq_p = past["p_value"] if seq_p is None else min(seq_p, past["p_value"])
                    seq_lo = past["ci_low"] if seq_lo is None else max(seq_lo, past["ci_low"])
                    seq_hi = past["ci_high"] if seq_hi is None else min(seq_hi, past["ci_high"])
            entry["always_valid_p_value"] = seq_p
            entry["always_valid_ci_low"], entry["always_valid_ci_high"] = seq_lo, seq_hi
            entry["msprt_tau"] = seq["tau"]
            if has_value:
                w = welch_ttest(
                    n_t, float(r["value_sum"]), float(r.get("value_sumsq", 0.0)),
                    n_c, float(ctrl["value_sum"]), float(ctrl.get("value_sumsq", 0.0)), alpha,
                )  # fmt: skip
                entry["value_diff"] = w["diff"]
                entry["value_ci_low"], entry["value_ci_high"] = w["ci_low"], w["ci_high"]
                entry["value_p_value"] = w["p_value"]
        result_variants.append(entry)

    treatments = [e for e in result_variants if not e["is_control"]]
    holm = holm_adjust([e["p_value"] for e in treatments])
    for e, ph in zip(treatments, holm, strict=True):
        e["p_value_holm"] = ph
    # Holm over the always-valid p-values too when several treatments are monitored
    holm_seq = holm_adjust([e["always_valid_p_value"] for e in treatments])
    for e, ph in zip(treatments, holm_seq, strict=True):
        e["always_valid_p_value_holm"] = ph
        decisive = e["always_valid_p_value_holm"] if sequential else e["p_value_holm"]
        e["significant"] = decisive is not None and decisive < alpha

    shares = list(weights) if weights is not None else None
    if shares is None and all(r.get("weight") for r in rows):
        shares = [float(r["weight"]) for r in rows]
    srm_p = srm_test([r["units"] for r in rows], shares)
    result: dict[str, Any] = {
        "control": control,
        "alpha": alpha,
        "variants": result_variants,
        "srm_p_value": srm_p,
        "srm_warning": srm_p is not None and srm_p < SRM_THRESHOLD,
        "inference": "sequential" if sequential else "fixed-horizon",
        "inference_method": (
            "always-valid mSPRT with normal mixture (Johari et al. 2022); Holm across treatments"
            if sequential
            else "two-proportion z-test at a fixed horizon; Holm across treatments"
        ),
        "correction": "holm" if len(treatments) > 1 else None,
        "mde": mde,
    }
    base = _rate(x_c, n_c)
    result["sample_size_per_arm"] = (
        planned_units_per_arm
        if planned_units_per_arm
        else (sample_size_per_arm(base, mde, alpha=alpha) if base else None)
    )
    result["decision"] = decide(result)
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _prob(p: float) -> str:
    """Probability as a percentage that never rounds to a misleading 0% or 100%."""
    if p < 0.01:
        return "<1%"
    if p >= 0.999:
        return ">99.9%"
    if p > 0.99:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.0f}%"


def _points(x: float) -> str:
    """A rate difference in percentage points."""
    pts = 100 * x
    return "less than 0.001 points" if pts < 0.001 else f"{pts:.3g} points"


def interval_in_force(result: Mapping[str, Any], treatment: Mapping[str, Any]):
    """(low, high) of a treatment's absolute uplift under the inference in force: the
    always-valid interval for sequential tests, the Newcombe interval at a fixed horizon. The
    headline, the table and the chart all quote this one interval."""
    if result.get("inference") == "sequential":
        return treatment.get("always_valid_ci_low"), treatment.get("always_valid_ci_high")
    return treatment.get("uplift_ci_low"), treatment.get("uplift_ci_high")


def p_value_in_force(result: Mapping[str, Any], treatment: Mapping[str, Any]):
    """The p-value the decision uses (Holm-adjusted when several treatments are compared)."""
    if result.get("inference") == "sequential":
        return treatment.get("always_valid_p_value_holm", treatment.get("always_valid_p_value"))
    return treatment.get("p_value_holm", treatment.get("p_value"))


def _between(result: Mapping[str, Any], t: Mapping[str, Any], control: str) -> str:
    lo, hi = interval_in_force(result, t)
    if lo is None or hi is None:
        return f"{t['name']} minus {control}: no interval yet"
    return f"{t['name']} minus {control} is between {100 * lo:+.2f} and {100 * hi:+.2f} points"


def decide(result: Mapping[str, Any]) -> dict[str, Any]:
    """One-sentence decision from an ``analyze`` result, under the inference in force only
    (always-valid for sequential tests, fixed-horizon otherwise), quoting the same interval
    the report's table and chart show.

    Order: an empty arm means no data yet; an SRM warning overrides the rest; then a
    significant treatment that is ahead is recommended with its probability to beat control
    and expected loss (significant losers are named too); significant losers are called
    losers, and when every treatment lost, keep control; otherwise "not enough data" with the
    interval so far and the remaining sample size for the planned lift, naming a variant that
    trails or leads clearly by the Bayesian probability while the test in force cannot yet
    tell. ``losers`` lists the names of significantly worse treatments.
    """
    variants = result["variants"]
    treatments = [v for v in variants if not v["is_control"]]
    ctrl = next(v for v in variants if v["is_control"])
    out: dict[str, Any] = {"status": "inconclusive", "winner": None, "losers": []}
    if not treatments:
        out["sentence"] = "Only one variant: nothing to compare."
        return out
    if ctrl["units"] == 0 or any(t["units"] == 0 for t in treatments):
        out["sentence"] = "Not enough data: at least one variant has no visitors yet."
        return out
    if result.get("srm_warning"):
        out["status"] = "srm"
        out["sentence"] = (
            f"Sample ratio mismatch (p = {result['srm_p_value']:.2g}): visitors are not split as configured, "
            "so these numbers cannot be trusted until assignment or tracking is fixed."
        )
        return out
    sequential = result.get("inference") == "sequential"
    test_name = "the always-valid test" if sequential else "the fixed-horizon test"
    winners = [t for t in treatments if t["significant"] and (t["abs_uplift"] or 0) > 0]
    losers = [t for t in treatments if t["significant"] and (t["abs_uplift"] or 0) < 0]
    out["losers"] = [t["name"] for t in losers]
    loser_note = ""
    if losers:
        names = " and ".join(t["name"] for t in losers)
        verb = "Variant {} loses" if len(losers) == 1 else "Variants {} lose"
        loser_note = (
            f" {verb.format(names)} to {ctrl['name']} ("
            + "; ".join(_between(result, t, ctrl["name"]) for t in losers)
            + ")."
        )
    if winners:
        best = max(winners, key=lambda t: t["prob_beat_control"])
        out.update(status="winner", winner=best["name"])
        out["sentence"] = (
            f"Variant {best['name']} is ahead with {_prob(best['prob_beat_control'])} probability; "
            f"expected loss if you ship it {_points(best['expected_loss'])} "
            f"({_between(result, best, ctrl['name'])}).{loser_note}"
        )
        return out
    if losers and len(losers) == len(treatments):
        out.update(status="control", winner=ctrl["name"])
        which = "Variant " + losers[0]["name"] if len(losers) == 1 else "Every variant"
        out["sentence"] = (
            f"{which} is a loser: keep {ctrl['name']}."
            + loser_note.replace(" lose to ", " convert worse than ")
            .replace(" loses to ", " converts worse than ")
            .replace(" Variants ", " ")
            .replace(" Variant ", " ")
            .rstrip(".")
            + f", by {test_name}."
        )
        return out
    undecided = [t for t in treatments if not t["significant"]]
    need = result.get("sample_size_per_arm")
    have = min(v["units"] for v in variants)
    mde = result.get("mde", DEFAULT_MDE)
    lead = max(undecided, key=lambda t: t["prob_beat_control"])
    trail = min(undecided, key=lambda t: t["prob_beat_control"])
    so_far = _between(result, lead, ctrl["name"])
    hint = ""
    if trail["prob_beat_control"] < 0.01:
        hint = (
            f" {trail['name']} is trailing ({_prob(trail['prob_beat_control'])} chance to beat "
            f"{ctrl['name']}), but {test_name} cannot yet rule out no difference."
        )
    elif lead["prob_beat_control"] > 0.99:
        hint = (
            f" {lead['name']} is leading ({_prob(lead['prob_beat_control'])} chance to beat "
            f"{ctrl['name']}), but {test_name} cannot yet rule out no difference."
        )
    if need is None:
        body = (
            "Not enough data: control has no conversions yet, so the needed sample size is unknown."
        )
    elif have < need:
        body = (
            f"Not enough data under {test_name} so far: {so_far}; about {need - have:,} more "
            f"visitors per arm for a {100 * mde:.0f}% lift (control converts at "
            f"{_pct(ctrl['rate'])})."
        )
    else:
        out["status"] = "no_difference"
        body = f"No detectable difference at the planned sample size: {so_far}."
    if losers:
        out["status"] = "loser"
        body = f"{loser_note.strip()} For the others, {body[0].lower()}{body[1:]}"
    out["sentence"] = body + hint
    return out


# --------------------------------------------------------------------------- segments

# Below this many visitors in an arm a segment's interval is too wide to read.
MIN_SEGMENT_UNITS_PER_ARM = 100


def segment_breakdown(
    arms: Sequence[Mapping[str, Any]],
    *,
    control: str,
    alpha: float = 0.05,
    min_units: int = MIN_SEGMENT_UNITS_PER_ARM,
) -> dict[str, Any]:
    """One segment's numbers: per arm units, conversions, rate with its Wilson interval, and
    against the control the absolute uplift with the Newcombe interval and the two-proportion
    z-test p-value (the formulas above). Fixed-horizon and uncorrected for the number of
    segments looked at: a breakdown is for reading where an effect comes from, not for a
    decision. ``too_small`` is True when an arm has fewer than ``min_units`` visitors.

    arms: [{"name", "units", "conversions"}] with the control among them."""
    ctrl = next((a for a in arms if a["name"] == control), None)
    if ctrl is None:
        raise ValueError(f"control {control!r} is not among the arms")
    out = []
    for a in arms:
        units, conv = int(a["units"]), int(a["conversions"])
        low, high = wilson_interval(conv, units, alpha)
        row: dict[str, Any] = {
            "name": a["name"],
            "is_control": a["name"] == control,
            "units": units,
            "conversions": conv,
            "rate": _rate(conv, units),
            "ci_low": low if units else None,
            "ci_high": high if units else None,
        }
        if a["name"] != control:
            c_units, c_conv = int(ctrl["units"]), int(ctrl["conversions"])
            d_low, d_high = newcombe_diff_interval(conv, units, c_conv, c_units, alpha)
            _, p = two_proportion_ztest(conv, units, c_conv, c_units)
            row.update(
                abs_uplift=(conv / units - c_conv / c_units) if units and c_units else None,
                uplift_ci_low=d_low,
                uplift_ci_high=d_high,
                p_value=p,
            )
        out.append(row)
    return {
        "variants": out,
        "units": sum(r["units"] for r in out),
        "too_small": min((r["units"] for r in out), default=0) < min_units,
    }
