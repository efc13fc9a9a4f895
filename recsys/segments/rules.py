"""Rule-based segments (pure): a rule is a list of conditions on a visitor profile.

A rule is JSON: ``{"match": "all" | "any", "conditions": [{"field": ..., "op": ..., "value": ...}]}``.
For example "bought twice in 90 days" is ``{"field": "orders_90d", "op": "gte", "value": 2}``
and "country is DE" is ``{"field": "country", "op": "eq", "value": "DE"}``.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Profile fields a rule may test, and whether they are numbers or text.
FIELDS: dict[str, str] = {
    "orders": "number",
    "orders_90d": "number",
    "revenue": "number",
    "average_order_value": "number",
    "recency_days": "number",
    "views": "number",
    "carts": "number",
    "country": "text",
    "device": "text",
    "price_band": "text",
    "top_category": "text",  # the visitor's favourite category
    "category": "text",  # any of the visitor's top categories
    "brand": "text",  # any of the visitor's top brands
}
NUMBER_OPS = {"eq", "ne", "gt", "gte", "lt", "lte"}
TEXT_OPS = {"eq", "ne", "in"}
OP_WORDS = {
    "eq": "is",
    "ne": "is not",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "is one of",
}


class RuleError(ValueError):
    """A rule that cannot be evaluated; the message names the condition and the problem."""


def clean_rule(rule: Mapping) -> dict:
    """Validate and normalise a rule; raises RuleError with a readable reason."""
    if not isinstance(rule, Mapping):
        raise RuleError("A rule is an object with 'match' and 'conditions'.")
    match = rule.get("match", "all")
    if match not in ("all", "any"):
        raise RuleError("'match' must be 'all' or 'any'.")
    conditions = rule.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise RuleError("A rule needs at least one condition.")
    if len(conditions) > 20:
        raise RuleError("A rule has at most 20 conditions.")
    out = []
    for i, cond in enumerate(conditions, start=1):
        if not isinstance(cond, Mapping):
            raise RuleError(f"Condition {i} must be an object with field, op and value.")
        field, op, value = cond.get("field"), cond.get("op", "eq"), cond.get("value")
        kind = FIELDS.get(field)
        if kind is None:
            raise RuleError(
                f"Condition {i}: unknown field {field!r}; use one of {', '.join(FIELDS)}."
            )
        if kind == "number":
            if op not in NUMBER_OPS:
                raise RuleError(
                    f"Condition {i}: {field} takes one of {', '.join(sorted(NUMBER_OPS))}."
                )
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise RuleError(f"Condition {i}: {field} needs a number.") from None
        else:
            if op not in TEXT_OPS:
                raise RuleError(
                    f"Condition {i}: {field} takes one of {', '.join(sorted(TEXT_OPS))}."
                )
            if op == "in":
                if isinstance(value, str):
                    value = [v.strip() for v in value.split(",") if v.strip()]
                if not isinstance(value, list) or not value:
                    raise RuleError(f"Condition {i}: 'in' needs a list of values.")
                value = [str(v).strip() for v in value]
            else:
                if value is None or not str(value).strip():
                    raise RuleError(f"Condition {i}: {field} needs a value.")
                value = str(value).strip()
        out.append({"field": field, "op": op, "value": value})
    return {"match": match, "conditions": out}


def _values(profile: Mapping, field: str) -> list:
    if field == "top_category":
        cats = profile.get("top_categories") or []
        return cats[:1]
    if field == "category":
        return list(profile.get("top_categories") or [])
    if field == "brand":
        return list(profile.get("top_brands") or [])
    value = profile.get(field)
    return [] if value is None else [value]


def _test(values: list, op: str, expected) -> bool:
    if op == "ne":
        return all(_norm(v) != _norm(expected) for v in values)
    for v in values:
        if op == "eq" and _norm(v) == _norm(expected):
            return True
        if op == "in" and _norm(v) in {_norm(x) for x in expected}:
            return True
        if op in ("gt", "gte", "lt", "lte"):
            v = float(v)
            if (
                (op == "gt" and v > expected)
                or (op == "gte" and v >= expected)
                or (op == "lt" and v < expected)
                or (op == "lte" and v <= expected)
            ):
                return True
    return False


def _norm(v):
    return v.strip().lower() if isinstance(v, str) else v


def matches(rule: Mapping, profile: Mapping) -> bool:
    """Whether a profile (dict with the FIELDS keys) satisfies a cleaned rule."""
    results = (_test(_values(profile, c["field"]), c["op"], c["value"]) for c in rule["conditions"])
    return all(results) if rule.get("match", "all") == "all" else any(results)


def describe(rule: Mapping) -> str:
    """The rule in words, e.g. "orders_90d ≥ 2 and country is DE"."""
    joiner = " and " if rule.get("match", "all") == "all" else " or "
    parts = []
    for c in rule["conditions"]:
        value = c["value"]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, list):
            value = ", ".join(value)
        parts.append(f"{c['field'].replace('_', ' ')} {OP_WORDS[c['op']]} {value}")
    return joiner.join(parts)
