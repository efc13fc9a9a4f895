"""Shopify's product CSV (the admin's "Export products" file), both ways. Pure Python, no Django.

Mapping (docs/platforms.md says why): one Merchlab product per Shopify product (per Handle),
because Shopify keeps the copy (Body (HTML), SEO Title, SEO Description) per Handle, not per
variant. Its SKU is the Handle (or, for handles longer than a SKU may be, the Handle's start and
a hash); its price is the lowest variant price; its stock the sum of the variants' inventory when
the file has that column; each option (Size, Color) becomes an attribute listing its values; the
variants themselves (SKU, options, price) are kept with the Handle so the export can return.

A file with the product columns (Title, Variant Price) updates the catalog. A file without them
(Handle plus copy columns, which is what `write` produces) updates only the live copy of products
already imported under those Handles.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal

from ..csv_format import FileError, RowError, neutralise, unneutralise
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

STANDARD_COLUMNS = frozenset(
    name.lower()
    for name in (
        "Handle",
        "Title",
        "Body (HTML)",
        "Vendor",
        "Product Category",
        "Standard Product Type",
        "Custom Product Type",
        "Type",
        "Tags",
        "Published",
        "Option1 Name",
        "Option1 Value",
        "Option1 Linked To",
        "Option2 Name",
        "Option2 Value",
        "Option2 Linked To",
        "Option3 Name",
        "Option3 Value",
        "Option3 Linked To",
        "Variant SKU",
        "Variant Grams",
        "Variant Weight",
        "Variant Inventory Tracker",
        "Variant Inventory Qty",
        "Variant Inventory Policy",
        "Variant Fulfillment Service",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Requires Shipping",
        "Variant Taxable",
        "Unit Price Total Measure",
        "Unit Price Total Measure Unit",
        "Unit Price Base Measure",
        "Unit Price Base Measure Unit",
        "Variant Barcode",
        "Image Src",
        "Image Position",
        "Image Alt Text",
        "Gift Card",
        "SEO Title",
        "SEO Description",
        "Variant Image",
        "Variant Weight Unit",
        "Variant Tax Code",
        "Cost per item",
        "Status",
    )
)
# Column families whose names carry a market, a Google Shopping field or a metafield key.
_FAMILY = re.compile(
    r"^(google shopping / .+|(included|price|compare at price) / .+"
    r"|.+ \((product|variant)\.metafields\.[^)]+\))$"
)
_PRODUCT_METAFIELD = re.compile(r"^(?P<label>.+) \(product\.metafields\.(?P<ns>[^.]+)\.[^)]+\)$")
# Metafield namespaces whose values describe the product (custom fields, Shopify's category
# attributes); others hold product references, review counts or search settings.
ATTRIBUTE_NAMESPACES = ("custom", "shopify")
COPY_COLUMNS = {
    "Body (HTML)": "description",
    "SEO Title": "seo_title",
    "SEO Description": "seo_description",
}
# Shopify's importer needs Handle and Title to update a product, and the option columns with
# one row per variant: without them it replaces the product's variants with a default one.
EXPORT_HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "SEO Title",
    "SEO Description",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
]
# Merchlab field -> the Shopify column its errors should name.
ERROR_COLUMNS = {
    "sku": "Handle",
    "title": "Title",
    "brand": "Vendor",
    "category": "Product Category",
    "price": "Variant Price",
    "tags": "Tags",
    "image_url": "Image Src",
    "stock": "Variant Inventory Qty",
    "description": "Body (HTML)",
    "seo_title": "SEO Title",
    "seo_description": "SEO Description",
}
PLACEHOLDER_OPTION = ("title", "default title")


def is_known_column(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in STANDARD_COLUMNS or bool(_FAMILY.match(lowered))


def read(lines: Iterable[str], *, default_currency: str = "EUR") -> PlatformReport:
    """Read a Shopify product CSV from a text stream (opened with newline="", BOM removed or
    not); check every row and return the products (or copy updates) and every problem."""
    records = iter_records(lines)
    try:
        _, header = next(records)
    except StopIteration:
        raise FileError("The file is empty.", line=1) from None
    index = _header_index(header)
    # Without Variant Price the file only carries copy (what `write` produces): it updates the
    # live copy of products already imported under those Handles.
    copy_only = "Variant Price" not in index
    copy_seen: set[str] = set()
    errors: list[RowError] = []
    groups: dict[str, dict] = {}
    updates: list[CopyUpdate] = []
    total = 0
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        total += 1
        if len(cells) != len(header):
            errors.append(
                RowError(
                    line,
                    "(row)",
                    f"has {len(cells)} cells but the header has {len(header)} columns",
                )
            )
            continue
        cell = _getter(index, cells)
        handle = cell("Handle")
        if not handle:
            errors.append(RowError(line, "Handle", "is required on every row"))
            continue
        if copy_only:
            if handle not in copy_seen:  # later rows of a Handle carry its variants' options
                copy_seen.add(handle)
                updates.append(CopyUpdate(line=line, key=handle, copy=_copy_cells(cell)))
            continue
        group = groups.get(handle)
        if group is None:
            if not cell("Title"):
                errors.append(
                    RowError(
                        line,
                        "Title",
                        f"Handle {handle!r} has no product row: its first row must carry the "
                        "product's Title (this looks like a variant or image row whose product "
                        "row is missing)",
                    )
                )
                groups[handle] = {"orphan": True}
                continue
            group = groups[handle] = _start_product(line, cell, index)
        elif group.get("orphan"):
            continue
        elif cell("Title"):
            errors.append(
                RowError(
                    line,
                    "Handle",
                    f"Handle {handle!r} already has its product row on line {group['line']}; "
                    "two products cannot share a Handle",
                )
            )
            continue
        _add_row(group, line, cell, errors)
    products: list[ListedProduct] = []
    for handle, group in groups.items():
        if group.get("orphan"):
            continue
        product = _finish_product(handle, group, default_currency, errors)
        if product is not None:
            products.append(product)
    errors.sort(key=lambda e: e.line)
    return PlatformReport(products=products, copy_updates=updates, errors=errors, total_rows=total)


def _header_index(header: list[str]) -> dict[str, int]:
    canonical = {name.lower(): name for name in _canonical_names()}
    index: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = raw.strip()
        if not is_known_column(name):
            raise FileError(
                f"Unknown column {name!r} in a Shopify file (column {position + 1}). Remove it "
                "or rename it to a Shopify product CSV column.",
                line=1,
                column=name or f"column {position + 1}",
            )
        key = canonical.get(name.lower(), name)
        if key in index:
            raise FileError(f"Column {name!r} appears twice in the header.", line=1, column=name)
        index[key] = position
    if "Handle" not in index:
        raise FileError("The header lacks the Handle column.", line=1, column="Handle")
    if "Variant Price" in index:
        if "Title" not in index:
            raise FileError("The header lacks the column: Title.", line=1, column="Title")
    elif not set(COPY_COLUMNS) & set(index):
        raise FileError(
            "The header has neither product columns (Title, Variant Price) nor copy columns "
            "(Body (HTML), SEO Title, SEO Description).",
            line=1,
            column="Variant Price",
        )
    return index


def _canonical_names() -> list[str]:
    return [
        "Handle",
        "Title",
        "Body (HTML)",
        "Vendor",
        "Product Category",
        "Type",
        "Tags",
        "Status",
        "Option1 Name",
        "Option1 Value",
        "Option2 Name",
        "Option2 Value",
        "Option3 Name",
        "Option3 Value",
        "Variant SKU",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Inventory Qty",
        "Variant Barcode",
        "Image Src",
        "Image Position",
        "SEO Title",
        "SEO Description",
    ]


def _getter(index: dict[str, int], cells: list[str]):
    def cell(name: str) -> str:
        position = index.get(name)
        return cells[position].strip() if position is not None else ""

    cell.cells = cells  # type: ignore[attr-defined]
    return cell


def _copy_cells(cell) -> dict[str, str]:
    copy: dict[str, str] = {}
    body = cell("Body (HTML)")
    if body:
        copy["description"] = html_to_text(body)
    for column in ("SEO Title", "SEO Description"):
        value = unneutralise(cell(column))
        if value:
            copy[COPY_COLUMNS[column]] = value
    return {k: v for k, v in copy.items() if v}


def _start_product(line: int, cell, index: dict[str, int]) -> dict:
    attributes: dict[str, str] = {}
    for name, position in index.items():
        match = _PRODUCT_METAFIELD.match(name)
        if not match or match["ns"] not in ATTRIBUTE_NAMESPACES:
            continue
        value = cell.cells[position].strip()  # type: ignore[attr-defined]
        if value:
            attributes[match["label"].strip()] = _metafield_text(value)
    category = cell("Product Category")
    if category.lower() in ("", "uncategorized"):
        category = cell("Type")
    elif cell("Type"):
        attributes.setdefault("Product type", cell("Type"))
    return {
        "line": line,
        "title": cell("Title"),
        "vendor": cell("Vendor"),
        "category": category,
        "tags": [t.strip() for t in cell("Tags").split(",") if t.strip()],
        "status": cell("Status").lower(),
        "copy": _copy_cells(cell),
        "option_names": [cell(f"Option{n} Name") for n in (1, 2, 3)],
        "attributes": attributes,
        "variants": [],
        "images": [],
        "has_inventory": "Variant Inventory Qty" in index,
    }


def _metafield_text(value: str) -> str:
    # Shopify's category metafields hold taxonomy handles ("fabric__cotton; fabric__linen").
    parts = [p.strip() for p in value.replace("\n", ";").split(";") if p.strip()]
    return ", ".join(p.split("__", 1)[1].replace("-", " ") if "__" in p else p for p in parts)


def _add_row(group: dict, line: int, cell, errors: list[RowError]) -> None:
    image = cell("Image Src")
    if image:
        group["images"].append(image)
    options = [cell(f"Option{n} Value") for n in (1, 2, 3)]
    raw_price = cell("Variant Price")
    if not (raw_price or cell("Variant SKU") or any(options)):
        return  # an image-only row
    price, why = parse_price(raw_price)
    if price is None:
        errors.append(RowError(line, "Variant Price", why))
        group["bad"] = True
        return
    variant = {
        "line": line,
        "sku": cell("Variant SKU"),
        "options": options,
        "price": str(price),
    }
    if cell("Variant Compare At Price"):
        compare, why = parse_price(cell("Variant Compare At Price"))
        if compare is None:
            errors.append(RowError(line, "Variant Compare At Price", why))
            group["bad"] = True
            return
        variant["compare_at_price"] = str(compare)
    if group["has_inventory"] and cell("Variant Inventory Qty"):
        quantity, why = parse_int(cell("Variant Inventory Qty"))
        if quantity is None:
            errors.append(RowError(line, "Variant Inventory Qty", why))
            group["bad"] = True
            return
        variant["inventory"] = quantity
    if cell("Variant Barcode"):
        variant["barcode"] = cell("Variant Barcode")
    group["variants"].append(variant)


def _finish_product(
    handle: str, group: dict, default_currency: str, errors: list[RowError]
) -> ListedProduct | None:
    line = group["line"]
    variants = group["variants"]
    if group.get("bad"):
        return None  # a product is imported whole or not at all, even with partial imports
    if not variants:
        if not any(e.line == line for e in errors):
            errors.append(
                RowError(line, "Variant Price", "the product has no variant with a price")
            )
        return None
    attributes: dict[str, str] = {}
    for position, name in enumerate(group["option_names"]):
        values: list[str] = []
        for variant in variants:
            value = variant["options"][position]
            if value and value not in values:
                values.append(value)
        if not name or not values:
            continue
        if name.lower() in PLACEHOLDER_OPTION and values == ["Default Title"]:
            continue  # Shopify's placeholder for a product without options
        attributes[name] = ", ".join(values)
    for name, value in group["attributes"].items():
        attributes.setdefault(name, value)
    status = group["status"]
    values = {
        "sku": key_to_sku(handle),
        "title": group["title"],
        "brand": group["vendor"],
        "category": group["category"],
        "price": str(min(Decimal(v["price"]) for v in variants)),
        "tags": "|".join(group["tags"]),
        "image_url": group["images"][0] if group["images"] else "",
        "status": "archived" if status in ("draft", "archived") else "active",
        **{f"attr:{k}": v for k, v in attributes.items()},
        **group["copy"],
    }
    if group["has_inventory"]:
        values["stock"] = str(sum(max(0, v.get("inventory", 0)) for v in variants))
    else:
        # Current exports carry no inventory: an active product is recorded as available
        # (stock 1, count unknown) so that recommendations and the feed offer it.
        values["stock"] = "1" if values["status"] == "active" else "0"
    row, row_errors = check_row(
        values, line=line, columns=ERROR_COLUMNS, default_currency=default_currency
    )
    if row_errors:
        errors.extend(row_errors)
        return None
    row.currency = default_currency
    return ListedProduct(
        row=row,
        key=handle,
        variants=[{k: v for k, v in variant.items() if k != "line"} for variant in variants],
        extra={"option_names": group["option_names"], "images": group["images"][:20]},
    )


def write(products: Iterable[dict], out) -> int:
    """Write products (dicts with "key", the Handle, "title", "copy", the live copy, and the
    "variants" and "extra" that `read` kept) as a Shopify CSV that updates Body (HTML), SEO Title
    and SEO Description of those Handles. The first row of a Handle carries the copy and the
    option names; each variant has a row with its option values, so that Shopify matches the
    existing variants instead of replacing them."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    count = 0
    for product in products:
        copy = product.get("copy") or {}
        names = list((product.get("extra") or {}).get("option_names") or ["", "", ""])[:3]
        variants = product.get("variants") or [{"options": ["", "", ""]}]
        for position, variant in enumerate(variants):
            values = list(variant.get("options") or ["", "", ""])[:3]
            values += [""] * (3 - len(values))
            first = position == 0
            options = []
            for n in range(3):
                options += [names[n] if first and n < len(names) else "", values[n]]
            product_cells = (
                [
                    neutralise(product.get("title", "")),
                    text_to_html(copy.get("description", "")),
                    neutralise(copy.get("seo_title", "")),
                    neutralise(copy.get("seo_description", "")),
                ]
                if first
                else ["", "", "", ""]
            )
            writer.writerow([product["key"], *product_cells, *options])
        count += 1
    return count
