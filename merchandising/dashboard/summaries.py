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
        reason = metrics.get("skipped") or "no hold-out check was run for this version"
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
