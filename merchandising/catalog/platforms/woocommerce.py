"""WooCommerce's product CSV (the core exporter's layout), both ways. Pure Python, no Django.

Mapping (docs/platforms.md): one Merchlab product per WooCommerce product that a shopper sees
(simple, external, grouped and variable products); a variable product's variations are kept with
it (SKU, attribute values, prices, stock) and its price is the lowest variation price. The key
that ties a product to WooCommerce is "id:<ID>" (or its SKU when the file has no ID). Merchlab's
SKU is the product's SKU, or "wc-<ID>" when it has none. Description becomes the description
copy, Short description the SEO description copy (WooCommerce shows it as the product summary
and SEO plugins fall back to it).

A file without the Type column (ID/SKU plus copy columns, which `write` produces) updates only
the copy of products already imported.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal

from ..csv_format import FileError, RowError, unneutralise
from . import (
    CopyUpdate,
    ListedProduct,
    PlatformReport,
    check_row,
    iter_records,
    key_to_sku,
    parse_int,
    parse_price,
)
from .html_text import html_to_text, text_to_html

EXPORT_HEADER = ["ID", "SKU", "Short description", "Description"]
SHOPPER_TYPES = ("simple", "variable", "grouped", "external")
ERROR_COLUMNS = {
    "sku": "SKU",
    "title": "Name",
    "category": "Categories",
    "price": "Regular price",
    "tags": "Tags",
    "image_url": "Images",
    "stock": "Stock",
    "description": "Description",
    "seo_description": "Short description",
}
_ATTRIBUTE = re.compile(r"^attribute (\d+) (name|value\(s\))$")


def read(lines: Iterable[str], *, default_currency: str = "EUR") -> PlatformReport:
    """Read a WooCommerce product CSV from a text stream (newline=""); check every row and
    return the products (or copy updates) and every problem. Columns Merchlab has no use for
    (dimensions, tax, plugin columns) are ignored."""
    records = iter_records(lines)
    try:
        _, header = next(records)
    except StopIteration:
        raise FileError("The file is empty.", line=1) from None
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    copy_only = "type" not in index
    if copy_only and not ({"id", "sku"} & set(index)):
        raise FileError("The header lacks the ID or SKU column.", line=1, column="ID")
    if not copy_only and "name" not in index:
        raise FileError("The header lacks the Name column.", line=1, column="Name")
    errors: list[RowError] = []
    parents: dict[str, dict] = {}
    variations: list[dict] = []
    updates: list[CopyUpdate] = []
    total = 0
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        total += 1
        if len(cells) > len(header):
            errors.append(
                RowError(
                    line,
                    "(row)",
                    f"has {len(cells)} cells but the header has {len(header)} columns",
                )
            )
            continue

        def cell(name: str, _cells=cells) -> str:
            position = index.get(name.lower())
            return (
                _cells[position].strip() if position is not None and position < len(_cells) else ""
            )

        key = f"id:{cell('ID')}" if cell("ID") else cell("SKU")
        if not key:
            errors.append(RowError(line, "ID", "every row needs an ID or a SKU"))
            continue
        if copy_only:
            updates.append(CopyUpdate(line=line, key=key, copy=_copy_cells(cell)))
            continue
        kinds = {k.strip() for k in cell("Type").lower().split(",") if k.strip()}
        if "variation" in kinds:
            variations.append(_variation(line, cell, errors))
            continue
        if not kinds & set(SHOPPER_TYPES):
            errors.append(
                RowError(
                    line,
                    "Type",
                    f"{cell('Type')!r} is not a WooCommerce product type "
                    "(simple, variable, grouped, external, variation)",
                )
            )
            continue
        if key in parents or (cell("SKU") and f"sku:{cell('SKU')}" in parents):
            errors.append(RowError(line, "ID", f"{key!r} appears twice in the file"))
            continue
        product = _parent(line, key, kinds, cell, errors)
        parents[key] = product
        if cell("SKU"):
            parents[f"sku:{cell('SKU')}"] = product
    for variation in variations:
        parent_ref = variation["parent"]
        parent = parents.get(parent_ref) or parents.get(f"sku:{parent_ref}")
        if parent is None:
            errors.append(
                RowError(
                    variation["line"],
                    "Parent",
                    f"the variation's parent {parent_ref or '(empty)'!r} is not in the file",
                )
            )
            continue
        if variation.get("bad"):
            parent["bad"] = True  # a product is imported whole or not at all
            continue
        parent["variants"].append(variation)
    products: list[ListedProduct] = []
    skipped: list[RowError] = []
    seen: set[int] = set()
    for key, product in parents.items():
        if key.startswith("sku:") and product["key"] != key or id(product) in seen:
            continue
        seen.add(id(product))
        listed = _finish(product, parents, default_currency, errors, skipped)
        if listed is not None:
            products.append(listed)
    errors.sort(key=lambda e: e.line)
    return PlatformReport(
        products=products,
        copy_updates=updates,
        errors=errors,
        total_rows=total,
        skipped=skipped,
    )


def _text(value: str) -> str:
    # WooCommerce's exporter writes line breaks inside HTML as a literal backslash-n.
    return html_to_text(value.replace("\\n", "\n"))


def _copy_cells(cell) -> dict[str, str]:
    copy = {
        "description": _text(cell("Description")),
        "seo_description": unneutralise(_text(cell("Short description"))),
    }
    return {k: v for k, v in copy.items() if v}


def _stock(cell, line: int, errors: list[RowError]) -> int | None:
    """A row's stock: the Stock count when managed; else 1 or 0 from "In stock?" (available or
    not, count unknown); None when the file says neither."""
    if cell("Stock"):
        quantity, why = parse_int(cell("Stock"))
        if quantity is None:
            errors.append(RowError(line, "Stock", why))
            return None
        return max(0, quantity)
    flag = cell("In stock?").lower()
    if flag in ("1", "yes", "true", "instock", "onbackorder"):
        return 1
    if flag in ("0", "no", "false", "outofstock"):
        return 0
    return None


def _prices(cell, line: int, errors: list[RowError]) -> dict:
    prices = {}
    for column, name in (("Regular price", "price"), ("Sale price", "sale_price")):
        if cell(column):
            price, why = parse_price(cell(column))
            if price is None:
                errors.append(RowError(line, column, why))
            else:
                prices[name] = str(price)
    return prices


def _attributes(cell) -> dict[str, str]:
    attributes = {}
    for number in range(1, 100):
        name = cell(f"Attribute {number} name")
        if not name:
            if not cell(f"Attribute {number + 1} name"):
                break
            continue
        values = cell(f"Attribute {number} value(s)")
        if values:
            attributes[name] = values
    return attributes


def _parent(line: int, key: str, kinds: set[str], cell, errors: list[RowError]) -> dict:
    images = [u.strip() for u in cell("Images").split(",") if u.strip()]
    categories = [c.strip() for c in cell("Categories").split(",") if c.strip()]
    published = cell("Published")
    return {
        "line": line,
        "key": key,
        "id": cell("ID"),
        "sku": cell("SKU"),
        "kind": next(k for k in SHOPPER_TYPES if k in kinds),
        "title": cell("Name"),
        "category": categories[0] if categories else "",
        "tags": [t.strip() for t in cell("Tags").split(",") if t.strip()],
        "image": images[0] if images else "",
        "copy": _copy_cells(cell),
        "attributes": _attributes(cell),
        "prices": _prices(cell, line, errors),
        "stock": _stock(cell, line, errors),
        "grouped": [g.strip() for g in cell("Grouped products").split(",") if g.strip()],
        "external_url": cell("External URL"),
        "status": "archived" if published in ("0", "-1") else "active",
        "variants": [],
        "bad": any(e.line == line for e in errors),
    }


def _variation(line: int, cell, errors: list[RowError]) -> dict:
    before = len(errors)
    parent = cell("Parent")
    variation = {
        "line": line,
        "parent": parent,
        "id": cell("ID"),
        "sku": cell("SKU"),
        "options": _attributes(cell),
        **_prices(cell, line, errors),
        "stock": _stock(cell, line, errors),
    }
    if len(errors) == before and not variation.get("price"):
        errors.append(RowError(line, "Regular price", "a variation needs a price"))
    variation["bad"] = len(errors) > before
    return variation


def _finish(
    product: dict,
    parents: dict,
    default_currency: str,
    errors: list[RowError],
    skipped: list[RowError],
) -> ListedProduct | None:
    line = product["line"]
    if product["bad"]:
        return None
    variants = product["variants"]
    price = product["prices"].get("price")
    stock = product["stock"]
    if product["kind"] == "variable":
        if not variants:
            skipped.append(
                RowError(line, "Type", "a variable product without variations is not for sale")
            )
            return None
        price = str(min(Decimal(v["price"]) for v in variants))
        known = [v["stock"] for v in variants if v["stock"] is not None]
        stock = sum(known) if known else stock
    elif product["kind"] == "grouped" and not price:
        children = [parents.get(f"sku:{sku}") for sku in product["grouped"]]
        child_prices = [c["prices"]["price"] for c in children if c and c["prices"].get("price")]
        if child_prices:
            price = str(min(Decimal(p) for p in child_prices))
    if not price:
        # WooCommerce does not sell a product without a price (it is not purchasable).
        skipped.append(RowError(line, "Regular price", "is empty, so the product is not for sale"))
        return None
    values = {
        "sku": product["sku"] or f"wc-{product['id']}",
        "title": product["title"],
        "category": product["category"],
        "price": price,
        "tags": "|".join(product["tags"]),
        "image_url": product["image"],
        "status": product["status"],
        **{f"attr:{k}": v for k, v in product["attributes"].items()},
        **product["copy"],
    }
    values["sku"] = key_to_sku(values["sku"])
    if stock is not None:
        values["stock"] = str(stock)
    row, row_errors = check_row(
        values, line=line, columns=ERROR_COLUMNS, default_currency=default_currency
    )
    if row_errors:
        errors.extend(row_errors)
        return None
    row.currency = default_currency
    extra = {"type": product["kind"], "id": product["id"], "sku": product["sku"]}
    if product["external_url"]:
        extra["external_url"] = product["external_url"]
    return ListedProduct(
        row=row,
        key=product["key"],
        variants=[
            {k: v for k, v in variant.items() if k not in ("line", "parent", "bad")}
            for variant in variants
        ],
        extra=extra,
    )


def write(products: Iterable[dict], out) -> int:
    """Write products (dicts with "key", "extra" as read, and "copy") as a WooCommerce CSV that
    updates only Short description and Description of the same products (matched by ID, or by
    SKU when there is no ID)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    count = 0
    for product in products:
        copy = product.get("copy") or {}
        extra = product.get("extra") or {}
        key = product["key"]
        writer.writerow(
            [
                key[3:] if key.startswith("id:") else "",
                extra.get("sku", "") if key.startswith("id:") else key,
                text_to_html(copy.get("seo_description", "")),
                text_to_html(copy.get("description", "")),
            ]
        )
        count += 1
    return count
