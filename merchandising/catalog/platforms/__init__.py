"""Other platforms' file formats (Shopify, WooCommerce, Google Merchant Center, Google Ads Editor).

Each module is pure Python (no Django): it reads a platform's file into Merchlab's clean rows
with per-line errors, or writes Merchlab's products in the platform's layout. The services in
`catalog.services_platforms` store and load what these modules read and write.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from .. import csv_format
from ..csv_format import CleanRow, FileError, RowError

FORMATS = ("merchlab", "shopify", "woocommerce")


def detect_format(header: list[str]) -> str:
    """The format a CSV header belongs to: "shopify", "woocommerce" or "merchlab"."""
    names = {cell.strip().lstrip("\ufeff").lower() for cell in header}
    if {"sku", "title", "price"} <= names:
        return "merchlab"  # Merchlab's required columns: whatever else the file has
    if "handle" in names and ({"body (html)", "variant price", "seo title"} & names):
        return "shopify"
    if {"type", "name"} <= names and ({"regular price", "parent", "short description"} & names):
        return "woocommerce"
    if {"id", "short description", "description"} <= names:
        return "woocommerce"  # the copy-only file Merchlab exports back
    return "merchlab"


# --- shared by the platform readers ------------------------------------------------------------

MAX_PRICE = csv_format.MAX_PRICE
_PRICE_RE = re.compile(r"^\d+(\.\d{1,2})?$")
_SKU_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]+")


@dataclass
class ListedProduct:
    """A Merchlab product read from a platform file, with what ties it to the platform: its key
    there (Shopify Handle, WooCommerce ID or SKU) and its variants."""

    row: CleanRow
    key: str
    variants: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class CopyUpdate:
    """A row of a copy-only file (what Merchlab exports back): new live copy for one key."""

    line: int
    key: str
    copy: dict[str, str]


@dataclass
class PlatformReport:
    products: list[ListedProduct]
    copy_updates: list[CopyUpdate]
    errors: list[RowError]
    total_rows: int
    # Rows left out on purpose (not errors), each with the reason: a product the platform
    # itself does not sell, such as a WooCommerce product without a price.
    skipped: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def iter_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, cells) for each CSV record of a text stream opened with
    newline=""; line 1 is the header. Quoted cells may span lines (and hold CRLF)."""
    csv.field_size_limit(csv_format.MAX_FIELD_CHARS)
    reader = csv.reader(lines)
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise FileError(
                f"Line {start}: the file is not valid UTF-8 ({exc.reason}). Save it as UTF-8.",
                line=start,
            ) from exc
        except csv.Error as exc:
            raise FileError(
                f"Line {start}: the file cannot be read as CSV ({exc}).", line=start
            ) from exc
        previous_end = reader.line_num
        if start == 1 and record:
            record[0] = record[0].lstrip("\ufeff")
        yield start, record


def parse_price(raw: str) -> tuple[Decimal | None, str]:
    """A platform price cell ("12.00") as a Decimal, or None and why not."""
    raw = (raw or "").strip()
    if not raw:
        return None, "is empty"
    if not _PRICE_RE.match(raw):
        return None, (
            f"{raw!r} is not a price: write digits with a dot before the cents and no thousands "
            "separator or currency sign (1299.00)"
        )
    price = Decimal(raw)
    if price > MAX_PRICE:
        return None, f"is larger than {MAX_PRICE}"
    return price.quantize(Decimal("0.01")), ""


def parse_int(raw: str) -> tuple[int | None, str]:
    raw = (raw or "").strip()
    try:
        value = int(raw)
    except ValueError:
        return None, f"{raw!r} is not a whole number"
    if abs(value) > 2_000_000_000:
        return None, f"{raw!r} is out of range"
    return value, ""


def key_to_sku(key: str) -> str:
    """A Merchlab SKU for a platform key: the key itself when it fits (64 characters, no spaces),
    else its safe start and a short hash, so different keys never share a SKU."""
    safe = _SKU_UNSAFE.sub("-", key.strip())
    if safe == key and len(key) <= 64:
        return key
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return f"{safe[:53]}-{digest}"


def check_row(
    values: dict[str, str], *, line: int, columns: dict[str, str], default_currency: str
) -> tuple[CleanRow | None, list[RowError]]:
    """Run Merchlab's own row checks (lengths, control characters, limits) on a product read
    from a platform file; errors name the platform's column (`columns` maps Merchlab's names to
    the platform's)."""
    row, errors = csv_format.validate_row(values, line=line, default_currency=default_currency)
    return row, [RowError(e.line, columns.get(e.column, e.column), e.message) for e in errors]


def product_link(product: dict, *, origin: str, template: str) -> str:
    """The address of a product's page in the shop: its Shopify or WooCommerce page when it
    came from there, a "link" attribute, or `template` ("{origin}/products/{sku}") filled in."""
    listings = product.get("listings") or {}
    origin = (origin or "").rstrip("/")
    attributes = product.get("attributes") or {}
    for name in ("link", "url", "product_url"):
        value = str(attributes.get(name) or "")
        if value.startswith(("https://", "http://")):
            return value
    if not origin:
        return ""
    if "shopify" in listings:
        return f"{origin}/products/{quote(listings['shopify'])}"
    key = listings.get("woocommerce", "")
    if key.startswith("id:"):
        return f"{origin}/?p={quote(key[3:])}"
    if template:
        return template.format(origin=origin, sku=quote(product["sku"], safe=""))
    return ""
