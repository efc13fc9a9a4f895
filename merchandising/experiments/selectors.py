"""Reads of the experiments app, always scoped by merchant."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import QuerySet

from . import stats
from .models import Experiment, Exposure, Variant, VariantDay

SECONDARY = (
    ("add_to_cart", "add_to_cart_rate", "Add-to-cart rate"),
    ("clickers", "click_rate", "Click-through rate"),
)


def experiments_list(
    merchant, *, status: str | None = None, kind: str | None = None
) -> QuerySet[Experiment]:
    qs = (
        Experiment.objects.filter(merchant=merchant)
        .select_related("placement")
        .prefetch_related("variants")
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def experiment_get(merchant, experiment_id: int) -> Experiment:
    """The merchant's experiment; another merchant's id raises DoesNotExist (a 404)."""
    return Experiment.objects.select_related("placement").get(merchant=merchant, pk=experiment_id)


def experiment_days(merchant, experiment: Experiment) -> list[dict[str, Any]]:
    """Per-day, per-variant roll-up rows (for the CSV export and the charts)."""
    names = dict(
        Variant.objects.filter(experiment=experiment, merchant=merchant).values_list("pk", "name")
    )
    rows = VariantDay.objects.filter(merchant=merchant, experiment=experiment).order_by(
        "day", "variant__position"
    )
    return [
        {
            "day": r.day,
            "variant": names.get(r.variant_id, str(r.variant_id)),
            "exposures": r.exposures,
            "converters": r.converters,
            "add_to_cart": r.add_to_cart,
            "clickers": r.clickers,
            "revenue_sum": r.revenue_sum,
            "revenue_sumsq": r.revenue_sumsq,
        }
        for r in rows
    ]


def experiment_segment_name(experiment: Experiment) -> str:
    """The name of the shopper segment a segment experiment is for ("" for a test of all
    shoppers; the key when the segment is gone)."""
    if not experiment.segment:
        return ""
    if apps.is_installed("recsys.segments") and experiment.segment.isdigit():
        Segment = apps.get_model("segments", "Segment")
        name = (
            Segment.objects.filter(merchant_id=experiment.merchant_id, pk=int(experiment.segment))
            .values_list("name", flat=True)
            .first()
        )
        if name:
            return name
    return f"segment {experiment.segment}"


def experiment_report(merchant, experiment: Experiment, *, alpha: float = 0.05) -> dict[str, Any]:
    """Everything the report page, the API and the decision need, from the daily roll-ups only.

    Returns {"analysis": stats.analyze(...) with revenue per visitor, "series": cumulative
    per-day numbers per variant, "secondary": add-to-cart and click-through comparisons,
    "warnings": SRM, guardrails, withdrawn copy, "inference": which inference is in force,
    "segment": the name of the shopper segment a segment experiment is for, else ""}."""
    variants = list(
        Variant.objects.filter(experiment=experiment, merchant=merchant).order_by("position", "id")
    )
    if experiment.merchant_id != merchant.pk:
        raise Experiment.DoesNotExist
    fields = ("exposures", "converters", "add_to_cart", "clickers", "revenue_sum", "revenue_sumsq")
    rows = (
        VariantDay.objects.filter(experiment=experiment)
        .order_by("day")
        .values_list("variant_id", "day", *fields)
    )
    by_day: dict = defaultdict(dict)
    for variant_id, day, *numbers in rows:
        by_day[day][variant_id] = numbers
    totals = {v.pk: [0, 0, 0, 0, 0.0, 0.0] for v in variants}
    history: list[dict[str, tuple[int, int]]] = []
    series: dict[str, list[dict]] = {v.name: [] for v in variants}
    days = sorted(by_day)
    for day in days:
        for v in variants:
            numbers = by_day[day].get(v.pk)
            if numbers:
                t = totals[v.pk]
                for i, x in enumerate(numbers):
                    t[i] += x
            t = totals[v.pk]
            series[v.name].append(
                {
                    "day": day.isoformat(),
                    "units": t[0],
                    "conversions": t[1],
                    "rate": t[1] / t[0] if t[0] else None,
                }
            )
        history.append({v.name: (totals[v.pk][0], totals[v.pk][1]) for v in variants})
    control = next((v for v in variants if v.is_control), variants[0] if variants else None)
    arms = [
        {
            "name": v.name,
            "units": totals[v.pk][0],
            "conversions": totals[v.pk][1],
            "value_sum": totals[v.pk][4],
            "value_sumsq": totals[v.pk][5],
            "weight": v.weight,
        }
        for v in variants
    ]
    report: dict[str, Any] = {
        "experiment": experiment,
        "variants": variants,
        "days": [d.isoformat() for d in days],
        "segment": experiment_segment_name(experiment),
    }
    if len(arms) < 2:
        report.update(
            analysis=None,
            series=series,
            secondary=[],
            warnings=["The experiment has fewer than two variants."],
            segments=[],
        )
        return report
    analysis = stats.analyze(
        arms,
        control=control.name,
        alpha=alpha,
        sequential=experiment.sequential,
        history=history[:-1],
        mde=experiment.minimum_detectable_effect,
        planned_units_per_arm=experiment.planned_sample_size,
    )
    secondary = []
    ctrl_t = totals[control.pk]
    for index, metric, label in SECONDARY:
        col = fields.index(index)
        for v in variants:
            if v.pk == control.pk:
                continue
            t = totals[v.pk]
            if t[col] == 0 and ctrl_t[col] == 0:
                continue  # nobody did this in any arm (e.g. no clicks tracked for a copy test)
            z, p = stats.two_proportion_ztest(t[col], t[0], ctrl_t[col], ctrl_t[0])
            low, high = stats.newcombe_diff_interval(t[col], t[0], ctrl_t[col], ctrl_t[0], alpha)
            secondary.append(
                {
                    "metric": metric, "label": label, "variant": v.name,
                    "control_rate": ctrl_t[col] / ctrl_t[0] if ctrl_t[0] else None,
                    "rate": t[col] / t[0] if t[0] else None,
                    "diff_ci_low": low, "diff_ci_high": high, "p_value": p,
                }
            )  # fmt: skip
    for v in analysis["variants"]:
        if not v["is_control"] and "value_diff" in v:
            secondary.append(
                {
                    "metric": "revenue_per_visitor", "label": "Revenue per visitor (Welch t-test)", "variant": v["name"],
                    "control_rate": next(a for a in analysis["variants"] if a["is_control"]).get("value_per_unit"),
                    "rate": v.get("value_per_unit"), "diff_ci_low": v.get("value_ci_low"),
                    "diff_ci_high": v.get("value_ci_high"), "p_value": v.get("value_p_value"),
                }
            )  # fmt: skip
    warnings = []
    if analysis["srm_warning"]:
        warnings.append(
            f"Sample ratio mismatch: p = {analysis['srm_p_value']:.2g} (below 0.001). Visitors are not split as "
            "configured; check assignment and tracking before trusting the numbers."
        )
    for s in secondary:
        if (
            s["metric"] in (experiment.guardrails or [])
            and s["p_value"] is not None
            and s["p_value"] < alpha
        ):
            if s["diff_ci_high"] is not None and s["diff_ci_high"] < 0:
                warnings.append(
                    f"Guardrail: {s['label']} of {s['variant']} is significantly worse than control."
                )
    for v in variants:
        for pid in v.payload.get("withdrawn", []):
            warnings.append(
                f"Variant {v.name}: the copy for product {pid} was withdrawn after the start; those visitors see the live copy."
            )
    report.update(analysis=analysis, series=series, secondary=secondary, warnings=warnings)
    report["inference"] = analysis["inference_method"]
    report["segments"] = experiment_segments(merchant, experiment, alpha=alpha)
    return report


def experiment_segments(
    merchant, experiment: Experiment, *, alpha: float = 0.05
) -> list[dict[str, Any]]:
    """Results per shopper segment: the exposed visitors who belong to each active segment now
    (recsys.segments memberships), per variant units, conversions (the roll-up's flag on the
    exposure), rate and uplift against control with its interval; `too_small` flags a segment
    with fewer than stats.MIN_SEGMENT_UNITS_PER_ARM visitors in an arm. A visitor can be in
    several segments (a found one and rules), so the segments need not add up to the total.
    One grouped join over exposures and memberships; no raw events are read."""
    if experiment.merchant_id != merchant.pk:
        raise Experiment.DoesNotExist
    if not apps.is_installed("recsys.segments"):
        return []
    Segment = apps.get_model("segments", "Segment")
    Membership = apps.get_model("segments", "SegmentMembership")
    segments = {
        s.pk: s for s in Segment.objects.filter(merchant=merchant, is_active=True).order_by("id")
    }
    if not segments:
        return []
    variants = list(
        Variant.objects.filter(experiment=experiment, merchant=merchant).order_by("position", "id")
    )
    if len(variants) < 2:
        return []
    control = next((v for v in variants if v.is_control), variants[0])
    e, m = Exposure._meta.db_table, Membership._meta.db_table
    sql = (
        f"SELECT m.segment_id, e.variant_id, COUNT(*), "  # noqa: S608 (table names from _meta)
        f"SUM(CASE WHEN e.converted THEN 1 ELSE 0 END) "
        f"FROM {e} e JOIN {m} m ON m.visitor_id = e.visitor_id AND m.merchant_id = e.merchant_id "
        f"WHERE e.experiment_id = %s AND e.merchant_id = %s GROUP BY m.segment_id, e.variant_id"
    )
    counts: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [experiment.pk, merchant.pk])
        for segment_id, variant_id, units, conversions in cursor.fetchall():
            counts[segment_id][variant_id] = (int(units), int(conversions or 0))
    out = []
    for segment_id, segment in segments.items():
        by_variant = counts.get(segment_id)
        if not by_variant:
            continue
        arms = [
            {
                "name": v.name,
                "units": by_variant.get(v.pk, (0, 0))[0],
                "conversions": by_variant.get(v.pk, (0, 0))[1],
            }
            for v in variants
        ]
        row = stats.segment_breakdown(arms, control=control.name, alpha=alpha)
        out.append({"segment_id": segment.pk, "segment": segment.name, **row})
    out.sort(key=lambda r: (-r["units"], r["segment"]))
    return out


SEGMENT_COLUMNS = [
    "segment",
    "variant",
    "is_control",
    "units",
    "conversions",
    "rate",
    "ci_low",
    "ci_high",
    "abs_uplift",
    "uplift_ci_low",
    "uplift_ci_high",
    "p_value",
    "too_small",
]


def segment_rows(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The breakdown flattened to one row per segment and variant (for the CSV export)."""
    return [
        {
            **{k: v.get(k) for k in SEGMENT_COLUMNS if k in v},
            "segment": s["segment"],
            "variant": v["name"],
            "too_small": s["too_small"],
        }
        for s in segments
        for v in s["variants"]
    ]
