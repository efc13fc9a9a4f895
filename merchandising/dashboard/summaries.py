"""Plain-words summaries of domain objects for dashboard pages (home, model versions, jobs).

Presentation only: each function reads what a selector returned and says it as a merchant
would read it. No queries here."""

from __future__ import annotations

from merchandising.storefront.models import Placement
from recsys.evaluation import METRICS

METRIC_NAMES = {
    "ndcg": "NDCG (ranking quality)",
    "precision": "precision",
    "recall": "recall",
    "auc": "AUC",
}


def model_quality(version) -> dict:
    """What a model version's hold-out check says: {"metrics": [{name, label, model,
    popularity, better}], "k", "sentence", "measured_on"} where `sentence` is the verdict in
    words. An incremental update keeps the metrics of the full training it started from, and
    says so (measured_on is that version's number)."""
    metrics = version.metrics or {}
    models = metrics.get("models") or {}
    ours, pop = models.get("merchlab") or {}, models.get("popularity") or {}
    rows = []
    for name in METRICS:
        a, b = ours.get(name), pop.get(name)
        if a is None and b is None:
            continue
        better = a > b if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(
            {
                "name": name,
                "label": METRIC_NAMES.get(name, name),
                "model": a,
                "popularity": b,
                "better": better,
            }
        )
    measured_on = metrics.get("updated_from")
    k = metrics.get("k") or 10
    if not rows:
        # "skipped" names the component models training skipped when it is a dict (shown
        # by model_blend); a string is the hold-out check's own reason.
        skipped = metrics.get("skipped")
        reason = (
            skipped if isinstance(skipped, str) else "no hold-out check was run for this version"
        )
        sentence = f"Quality unknown: {reason}."
    else:
        a, b = ours.get("ndcg"), pop.get("ndcg")
        if isinstance(a, int | float) and isinstance(b, int | float) and b > 0:
            change = (a - b) / b
            if metrics.get("beats_popularity") and change >= 0.05:
                sentence = (
                    f"Better than best-sellers: its top {k} picks rank what shoppers went on to "
                    f"view or buy {change:.0%} better than a plain best-seller list."
                )
            elif change > -0.05:
                sentence = (
                    f"About as good as best-sellers (ranking quality {change:+.0%} against a "
                    "best-seller list): more events will help it learn."
                )
            else:
                sentence = (
                    f"Worse than best-sellers (ranking quality {change:+.0%}): consider the "
                    "popularity strategy until more events arrive."
                )
        elif isinstance(a, int | float):
            sentence = f"Ranking quality (NDCG@{k}) {a:.3f}; no best-seller figure to compare."
        else:
            sentence = "Quality unknown: the hold-out check had no visitors to score."
    if measured_on:
        sentence += f" (Measured when v{measured_on} was trained; this update adds newer events.)"
    return {"metrics": rows, "k": k, "sentence": sentence, "measured_on": measured_on}


MODEL_LABELS = {
    "merchlab": "Personal picks (LightFM hybrid)",
    "bought_together": "Bought together",
    "next_items": "Next in the session",
    "popularity": "Best-sellers",
    "blend": "Blend",
}


def _model_label(name) -> str:
    return MODEL_LABELS.get(name, str(name).replace("_", " "))


def model_blend(version) -> dict | None:
    """Each model's hold-out figure, the fitted blend weights, what the home placement serves,
    and what training skipped and why: {"rows": [{name, label, ndcg, weight, best}], "k",
    "users", "blend", "blend_wins", "sentence", "skipped": [(label, reason)]}; None when the
    version has none of it (trained before the blend existed)."""
    metrics = version.metrics or {}
    fusion = metrics.get("fusion") or {}
    skipped = metrics.get("skipped")
    skipped_rows = (
        [(_model_label(name), reason) for name, reason in skipped.items()]
        if isinstance(skipped, dict)
        else []
    )
    if fusion.get("skipped"):
        skipped_rows.append((_model_label("blend"), fusion["skipped"]))
    singles = {
        name: value
        for name, value in (fusion.get("models") or {}).items()
        if isinstance(value, int | float)
    }
    if not singles and not skipped_rows:
        return None
    k = fusion.get("k") or 10
    weights = fusion.get("weights") or {}
    best = max(singles.values()) if singles else None
    rows = [
        {
            "name": name,
            "label": _model_label(name),
            "ndcg": value,
            "weight": weights.get(name),
            "best": value == best,
        }
        for name, value in singles.items()
    ]
    blend, chosen = fusion.get("blend"), fusion.get("chosen")
    if chosen == "blend":
        sentence = (
            f"The home placement serves the blend: on this shop's hold-out it ranks better "
            f"(NDCG@{k} {blend:.3f}) than every single model (best {best:.3f})."
        )
    elif chosen:
        sentence = (
            f"The home placement serves {_model_label(chosen)}: the blend "
            f"(NDCG@{k} {blend:.3f}) did not beat it ({singles.get(chosen, best):.3f}) on this "
            "shop's hold-out."
        )
    else:
        sentence = "No blend was fitted, so the home placement serves personal picks."
    return {
        "rows": rows,
        "k": k,
        "users": fusion.get("users"),
        "blend": blend,
        "blend_wins": chosen == "blend",
        "sentence": sentence,
        "skipped": skipped_rows,
    }


def model_counts(version) -> list[tuple[str, int]]:
    """The data a version was trained on, as (label, number) pairs in a fixed order."""
    counts = version.counts or {}
    labels = [
        ("events", "events"),
        ("interactions", "interactions"),
        ("users", "visitors"),
        ("items", "products"),
        ("warm_items", "products with events"),
    ]
    out = [(label, counts[key]) for key, label in labels if isinstance(counts.get(key), int)]
    known = {key for key, _ in labels}
    out += [
        (key.replace("_", " "), n)
        for key, n in sorted(counts.items())
        if key not in known and isinstance(n, int)
    ]
    return out


def _strategy_label(value) -> str:
    return dict(Placement.Strategy.choices).get(value, str(value))


def _rule_words(rule: dict) -> str:
    action = rule.get("action", "")
    if action == "pin":
        return f"pin {rule.get('sku')} at position {rule.get('position', 1)}"
    if action in ("boost", "bury"):
        return f"{action} {rule.get('field', 'products')} {rule.get('value', '')}".strip()
    return ", ".join(f"{k} {v}" for k, v in rule.items())


def placement_settings_in_words(payload: dict) -> list[str]:
    """A placement experiment variant's settings as short phrases ("Strategy: Most popular",
    "Shows 8 products"), in place of the raw JSON payload."""
    out = []
    if payload.get("strategy"):
        out.append(f"Strategy: {_strategy_label(payload['strategy'])}")
    if payload.get("fallback_strategy"):
        out.append(f"When it has too few: {_strategy_label(payload['fallback_strategy'])}")
    if payload.get("limit"):
        out.append(f"Shows {payload['limit']} products")
    if payload.get("fixed_skus"):
        out.append("Fixed list: " + ", ".join(map(str, payload["fixed_skus"])))
    filters = payload.get("filters") or {}
    if filters:
        out.append(
            "Filters: " + "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in filters.items())
        )
    rules = payload.get("rules") or []
    if rules:
        out.append("Rules: " + "; ".join(_rule_words(r) for r in rules if isinstance(r, dict)))
    diversity = payload.get("diversity") or {}
    if diversity:
        out.append(
            "Diversity: " + "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in diversity.items())
        )
    return out
