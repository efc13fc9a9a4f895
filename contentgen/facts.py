"""Product facts as contentgen sees them (pure, no Django import).

A *facts* dict is what ``catalog.Product.facts()`` returns, or a row of the
``generate_copy`` CSV. Known keys: ``sku``, ``title``, ``brand``, ``category``
("A > B > C"), ``price``, ``currency``, ``attributes`` (dict[str, str]),
``tags`` (list[str]), ``description`` (existing copy), ``copy`` (dict of
existing live copy per field). Any other key with a scalar value is treated as
one more attribute, so a CSV with extra columns just works.

The prompt (what the model is told) and the guards (what the model may claim)
both read facts through :func:`fact_items`, so they always agree on what the
facts are.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fact_items", "key_facts", "facts_from_row", "is_thin"]

_SCALAR_KEYS = ("title", "brand", "category")
_SKIP_KEYS = {
    "sku",
    "id",
    "pk",
    "merchant",
    "status",
    "image_url",
    "stock",
    "created_at",
    "updated_at",
}
_KNOWN = (
    set(_SCALAR_KEYS)
    | {"price", "currency", "attributes", "tags", "description", "copy"}
    | _SKIP_KEYS
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value if _text(v))
    return str(value).strip()


def fact_items(facts: dict) -> list[tuple[str, str]]:
    """The product's facts as ordered ``(label, value)`` pairs, empty values dropped.

    Order: title, brand, category, price, attributes (in their order), other
    scalar keys, tags, existing description, other existing copy.
    """
    items: list[tuple[str, str]] = []
    for key in _SCALAR_KEYS:
        value = _text(facts.get(key))
        if value:
            items.append((key.capitalize(), value))
    price = _text(facts.get("price"))
    if price:
        currency = _text(facts.get("currency"))
        items.append(("Price", f"{price} {currency}".strip()))
    attributes = facts.get("attributes") or {}
    if isinstance(attributes, dict):
        for key, value in attributes.items():
            if _text(value) and _text(key):
                items.append((_text(key), _text(value)))
    for key, value in facts.items():
        if key in _KNOWN or isinstance(value, dict):
            continue
        if _text(value):
            items.append((str(key).replace("_", " ").capitalize(), _text(value)))
    tags = _text(facts.get("tags"))
    if tags:
        items.append(("Tags", tags))
    description = _text(facts.get("description"))
    if description:
        items.append(("Current description", description))
    copy = facts.get("copy") or {}
    if isinstance(copy, dict):
        for field, value in copy.items():
            if field == "description" and description:
                continue
            if _text(value):
                items.append((f"Current {str(field).replace('_', ' ')}", _text(value)))
    return items


_BOOL_YES = {"yes", "true", "y", "1"}
_BOOL_NO = {"no", "false", "n", "0", "none", "n/a", "-"}


def key_facts(facts: dict) -> list[tuple[str, str]]:
    """The facts a good text should mention, as ``(label, term)`` pairs.

    Brand, the category's last segment, and each attribute's value (for a
    yes/no attribute the attribute's name, when yes). Used for the coverage score.
    """
    out: list[tuple[str, str]] = []
    brand = _text(facts.get("brand"))
    if brand:
        out.append(("Brand", brand))
    category = _text(facts.get("category"))
    if category:
        out.append(("Category", category.split(">")[-1].strip()))
    attributes = dict(facts.get("attributes") or {})
    for key, value in facts.items():
        if key not in _KNOWN and not isinstance(value, dict) and _text(value):
            attributes[str(key).replace("_", " ")] = value
    for key, value in attributes.items():
        text = _text(value)
        if not text or not _text(key):
            continue
        low = text.lower()
        if low in _BOOL_NO:
            continue
        if low in _BOOL_YES:
            out.append((_text(key), _text(key)))
        elif len(text) <= 80:
            out.append((_text(key), text))
    return out


def facts_from_row(row: dict[str, Any]) -> dict:
    """Facts dict from a CSV row (``sku,title`` plus optional ``brand,category,price,description`` and attribute columns)."""
    facts: dict[str, Any] = {"attributes": {}}
    for key, value in row.items():
        if key is None:
            continue
        key = key.strip()
        value = (value or "").strip() if isinstance(value, str) else value
        if key in ("sku", "title", "brand", "category", "price", "currency", "description"):
            if value:
                facts[key] = value
        elif key == "tags":
            if value:
                facts["tags"] = [t.strip() for t in str(value).split(",") if t.strip()]
        elif value not in (None, ""):
            facts["attributes"][key] = value
    return facts


def is_thin(facts: dict) -> bool:
    """True when the product has (almost) nothing but a title to write about."""
    if _text(facts.get("description")):
        return False
    return len(key_facts(facts)) < 2
