"""The catalog CSV format: reading, validating and writing it. Pure Python, no Django.

Columns (header names are case-insensitive; order is free):

- required: `sku`, `title`, `price`
- optional: `brand`, `category` ("Kitchen > Cookware"), `currency` (ISO 4217), `stock`, `status`
  (active|archived), `tags` ("a|b|c"), `image_url`
- live copy: `description`, `seo_title`, `seo_description`, `ad_headlines` and `ad_descriptions`
  ("|"-separated lists). An empty copy cell leaves the live copy as it is.
- any other column becomes a product attribute (`color`, `material`, ...); `attr:` or
  `attribute:` prefixes are stripped. Empty attribute cells are skipped.

Every row is checked before anything is written; each problem names its line (as a spreadsheet
numbers it: the header is line 1), its column and the reason.

Cells that a spreadsheet would run as a formula (they start with = + - @, a tab or a carriage
return) are written with a leading apostrophe, the spreadsheet's own "this is text" mark, and the
reader takes that apostrophe off again, so an export imports back to the same catalog. A cell
that starts with apostrophes followed by such a character gets one more on export, so a value
that itself starts with an apostrophe survives too. The limits are in docs/input-limits.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from merchandising.inputs import DB_INT_MAX, printable, text_problem

CORE_COLUMNS = (
    "sku",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "stock",
    "status",
    "tags",
    "image_url",
)
COPY_COLUMNS = ("description", "seo_title", "seo_description", "ad_headlines", "ad_descriptions")
LIST_COLUMNS = ("tags", "ad_headlines", "ad_descriptions")
REQUIRED_COLUMNS = ("sku", "title", "price")
LIST_SEPARATOR = "|"

MAX_LENGTHS = {
    "sku": 64,
    "title": 300,
    "brand": 120,
    "category": 300,
    "image_url": 1000,
    "description": 10_000,
    "seo_title": 300,
    "seo_description": 1_000,
}
MAX_LIST_ITEM = 300
MAX_LIST_ITEMS = 50
MAX_ATTRIBUTE_NAME = 100
MAX_ATTRIBUTE_VALUE = 2_000
MAX_ATTRIBUTES = 100
MAX_PRICE = Decimal("9999999999.99")
MAX_FIELD_CHARS = 100_000  # the csv module's own limit for one cell
STATUSES = ("active", "archived")

# A SKU is part of every per-product web address (/api/v1/products/<sku>, the storefront's),
# so it cannot hold what a path cannot carry: "/" and "\\" (separators), "?" and "#" (end the
# path), "%" (starts an escape), whitespace and control characters; nor be "." or "..".
SKU_PATTERN = r"^[^\s\x00-\x1f\x7f/\\?#%]+$"
SKU_RULE = (
    "A SKU is letters, digits and punctuation without spaces, control characters or any of "
    "/ \\ ? # %, and is not '.' or '..' (it is part of the product's web address)."
)
# Paths of the product API that a SKU of this name would be shadowed by.
RESERVED_SKUS = ("bulk", "export.csv")
# The same, for Django validators (which %-format their message with the value).
SKU_RULE_FORMAT = SKU_RULE.replace("%", "%%")
_SKU_RE = re.compile(SKU_PATTERN)
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Cells that a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Text encodings an import may be read in: accepted spelling (lower case, "_" as "-") -> codec.
# Only text encodings: a codec such as unicode_escape or punycode turns bytes into text by rules
# of its own and could produce what no shop means (or what cannot be stored).
ENCODINGS = {
    "utf-8": "utf-8-sig",  # a byte-order mark, as Excel writes it, is dropped
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso-8859-15": "iso8859-15",
    "cp1250": "cp1250",
    "windows-1250": "cp1250",
    "cp1251": "cp1251",
    "windows-1251": "cp1251",
    "mac-roman": "mac-roman",
    "shift-jis": "shift_jis",
    "cp932": "cp932",
    "euc-jp": "euc_jp",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "big5": "big5",
    "euc-kr": "euc_kr",
}
# The names the API and the dashboard offer (the others above are accepted spellings of these).
ENCODING_NAMES = (
    "utf-8",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "cp1252",
    "latin-1",
    "iso-8859-15",
    "cp1250",
    "cp1251",
    "mac-roman",
    "shift-jis",
    "cp932",
    "euc-jp",
    "gb18030",
    "big5",
    "euc-kr",
)


def encoding_name(encoding: str) -> str | None:
    """The accepted name of ``encoding`` ("UTF_8" -> "utf-8"), None when it is not accepted."""
    key = (encoding or "").strip().lower().replace("_", "-").replace(" ", "")
    if key not in ENCODINGS:
        return None
    codec = ENCODINGS[key]
    return next(n for n in ENCODING_NAMES if ENCODINGS[n] == codec)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass
class CleanRow:
    line: int
    sku: str
    title: str
    price: Decimal
    brand: str = ""
    category: str = ""
    currency: str | None = None
    stock: int | None = None
    status: str | None = None
    tags: list[str] | None = None
    image_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    copy: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass
class ValidationReport:
    rows: list[CleanRow]
    errors: list[RowError]
    total_rows: int

    @property
    def ok(self) -> bool:
        return not self.errors


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, missing columns, broken quoting)."""

    def __init__(self, message: str, *, line: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.column = column

    def as_row_error(self) -> RowError:
        return RowError(self.line, self.column or "(file)", str(self))


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """Decode the upload; a wrong encoding names the line and byte instead of guessing."""
    name = encoding_name(encoding)
    if name is None:
        raise FileError(
            f"Unknown encoding {printable(str(encoding))!r}; use one of {', '.join(ENCODING_NAMES)}."
        )
    try:
        return data.decode(ENCODINGS[name])
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        raise FileError(
            f"The file is not valid {encoding} (byte 0x{byte} on line {line}). Save it as UTF-8, "
            "or choose the encoding it was saved in (for example cp1252 for Excel on Windows).",
            line=line,
        ) from exc


def header_map(header: list[str]) -> dict[int, str]:
    """Column index -> canonical name; raises FileError for missing or repeated columns."""
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, raw in enumerate(header):
        raw = unneutralise(raw.strip())
        problem = text_problem(raw) or (
            "contains control characters" if _CONTROL_RE.search(raw) else None
        )
        if problem:
            raise FileError(
                f"The name of column {index + 1} {problem}.", line=1, column=printable(raw)
            )
        name = raw.lower()
        for prefix in ("attr:", "attribute:"):
            if name.startswith(prefix):
                name = "attr:" + raw[len(prefix) :].strip()
                break
        else:
            if name not in CORE_COLUMNS + COPY_COLUMNS:
                name = "attr:" + raw
        if name in ("attr:", ""):
            raise FileError(f"Column {index + 1} has no name in the header.", line=1)
        key = name.lower()
        if key in seen:
            raise FileError(
                f"Column {raw!r} appears twice in the header (columns {seen[key] + 1} and {index + 1}).",
                line=1,
                column=raw,
            )
        seen[key] = index
        names[index] = name
    missing = [c for c in REQUIRED_COLUMNS if c not in names.values()]
    if missing:
        raise FileError(f"The header lacks the required column(s): {', '.join(missing)}.", line=1)
    return names


def iter_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, cells) for each record; line 1 is the header."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a cell is longer than {MAX_FIELD_CHARS:,} characters"
            raise FileError(
                f"Line {start}: the file cannot be read as CSV ({message}).", line=start
            ) from exc
        previous_end = reader.line_num
        yield start, record


def validate(text: str, *, default_currency: str = "EUR") -> ValidationReport:
    """Check every row; return the clean rows and every problem found."""
    records = iter_records(text)
    try:
        _, header = next(records)
    except StopIteration:
        raise FileError("The file is empty.", line=1) from None
    columns = header_map(header)
    rows: list[CleanRow] = []
    errors: list[RowError] = []
    first_line_of_sku: dict[str, int] = {}
    total = 0
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        total += 1
        if len(cells) > len(columns):
            errors.append(
                RowError(
                    line,
                    "(row)",
                    f"has {len(cells)} cells but the header has {len(columns)} columns",
                )
            )
            continue
        values = {columns[i]: cell for i, cell in enumerate(cells)}
        row, row_errors = validate_row(values, line=line, default_currency=default_currency)
        errors.extend(row_errors)
        if row is None:
            continue
        if row.sku in first_line_of_sku:
            errors.append(
                RowError(
                    line,
                    "sku",
                    f"SKU {row.sku!r} already appears on line {first_line_of_sku[row.sku]}",
                )
            )
            continue
        first_line_of_sku[row.sku] = line
        rows.append(row)
    return ValidationReport(rows=rows, errors=errors, total_rows=total)


def validate_row(
    values: dict[str, str], *, line: int, default_currency: str = "EUR"
) -> tuple[CleanRow | None, list[RowError]]:
    errors: list[RowError] = []

    def err(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    # Take off the apostrophe an export put before a formula-like cell, and refuse text that
    # cannot be stored (each bad cell is named by its column; attributes by their name).
    values = {column: unneutralise((value or "").strip()) for column, value in values.items()}
    for column, value in values.items():
        problem = text_problem(value)
        if problem:
            err(column.removeprefix("attr:"), problem)
    if errors:
        return None, errors

    def text(column: str) -> str:
        value = (values.get(column) or "").strip()
        if _CONTROL_RE.search(value):
            err(column, "contains control characters")
        limit = MAX_LENGTHS.get(column)
        if limit and len(value) > limit:
            err(column, f"is {len(value):,} characters long; the limit is {limit:,}")
        return value

    sku = text("sku")
    if not sku:
        err("sku", "is required")
    else:
        problem = sku_problem(sku)
        if problem:
            err("sku", problem)
    title = text("title")
    if not title:
        err("title", "is required")
    price = _parse_price(values.get("price", ""), err)
    row = CleanRow(
        line=line, sku=sku, title=title, price=price if price is not None else Decimal(0)
    )
    row.brand = text("brand")
    row.category = " > ".join(p.strip() for p in text("category").split(">") if p.strip())
    currency = (values.get("currency") or "").strip().upper()
    if currency:
        if not _CURRENCY_RE.match(currency):
            err("currency", f"{currency!r} is not a three-letter currency code such as EUR")
        row.currency = currency
    elif "currency" in values:
        row.currency = default_currency
    stock = (values.get("stock") or "").strip()
    if stock:
        try:
            row.stock = int(stock)
            if row.stock < 0:
                err("stock", "cannot be negative")
            elif row.stock > DB_INT_MAX:
                err("stock", f"is larger than {DB_INT_MAX:,}, the largest stock that can be stored")
        except ValueError:
            err("stock", f"{stock!r} is not a whole number")
    status = (values.get("status") or "").strip().lower()
    if status:
        if status not in STATUSES:
            err("status", f"{status!r} is not one of: {', '.join(STATUSES)}")
        row.status = status
    if "tags" in values:
        row.tags = _parse_list(values["tags"], "tags", err)
    image_url = text("image_url")
    if image_url:
        parts = urlsplit(image_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            err("image_url", "must be an http(s) URL")
        row.image_url = image_url
    elif "image_url" in values:
        row.image_url = ""
    for column in COPY_COLUMNS:
        if column not in values or not values[column].strip():
            continue
        if column in LIST_COLUMNS:
            items = _parse_list(values[column], column, err)
            if items:
                row.copy[column] = items
        else:
            value = text(column)
            if value:
                row.copy[column] = value
    for column, value in values.items():
        if not column.startswith("attr:"):
            continue
        name = column[5:]
        value = value.strip()
        if not value:
            continue
        if len(name) > MAX_ATTRIBUTE_NAME:
            err(name, f"attribute names are limited to {MAX_ATTRIBUTE_NAME} characters")
        if len(value) > MAX_ATTRIBUTE_VALUE:
            err(
                name,
                f"is {len(value):,} characters long; attribute values are limited to {MAX_ATTRIBUTE_VALUE:,}",
            )
        if _CONTROL_RE.search(value):
            err(name, "contains control characters")
        row.attributes[name] = value
    if len(row.attributes) > MAX_ATTRIBUTES:
        err("(attributes)", f"{len(row.attributes)} attributes; the limit is {MAX_ATTRIBUTES}")
    return (None if errors else row), errors


def sku_problem(sku: str) -> str | None:
    """Why ``sku`` cannot be a SKU (see SKU_RULE), or None."""
    if len(sku) > MAX_LENGTHS["sku"]:
        return f"is {len(sku):,} characters long; the limit is {MAX_LENGTHS['sku']}"
    if not _SKU_RE.match(sku) or sku in (".", ".."):
        return SKU_RULE
    if sku in RESERVED_SKUS:
        return f"{sku!r} is the name of an API path ({', '.join(RESERVED_SKUS)} are reserved)"
    return None


def _parse_price(raw: str, err) -> Decimal | None:
    raw = (raw or "").strip()
    if not raw:
        err("price", "is required")
        return None
    try:
        price = Decimal(raw)
    except InvalidOperation:
        err("price", f"{raw!r} is not a number (use a dot for decimals, no currency sign)")
        return None
    if not price.is_finite():
        err("price", f"{raw!r} is not a number")
        return None
    if price < 0:
        err("price", "cannot be negative")
        return None
    if price > MAX_PRICE:
        err("price", f"is larger than {MAX_PRICE}")
        return None
    if price != price.quantize(Decimal("0.01")):
        err("price", f"{raw!r} has more than two decimals")
        return None
    return price.quantize(Decimal("0.01"))


def _parse_list(raw: str, column: str, err) -> list[str]:
    items = [item.strip() for item in (raw or "").split(LIST_SEPARATOR) if item.strip()]
    if len(items) > MAX_LIST_ITEMS:
        err(column, f"has {len(items)} items; the limit is {MAX_LIST_ITEMS}")
    for item in items:
        if len(item) > MAX_LIST_ITEM:
            err(column, f"an item is {len(item):,} characters long; the limit is {MAX_LIST_ITEM}")
            break
        if _CONTROL_RE.search(item):
            err(column, "contains control characters")
            break
    return items


def _formula_like(value: str) -> bool:
    return value.lstrip("'").startswith(_FORMULA_START)


def neutralise(value: str) -> str:
    """Make a cell safe to open in a spreadsheet: text that would run as a formula gets a leading
    apostrophe (OWASP, "CSV Injection"); so does one that starts with apostrophes and then such
    a character, so that :func:`unneutralise` gives back exactly ``value``."""
    if _formula_like(value):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """The inverse of :func:`neutralise`: the apostrophe before a formula-like cell comes off."""
    if value.startswith("'") and _formula_like(value):
        return value[1:]
    return value


def attribute_column(name: str) -> str:
    """The header of an attribute's column: ``attr:name`` where the bare name would be read as
    a product column (an attribute called "title" or "attr:x")."""
    lowered = name.lower()
    if lowered in CORE_COLUMNS + COPY_COLUMNS or lowered.startswith(("attr:", "attribute:")):
        return "attr:" + name
    return name


def write(rows: Iterable[dict], attribute_names: list[str], out) -> None:
    """Write products (dicts shaped like CleanRow plus `copy`) as CSV to the text stream `out`.
    The output re-imports to the same catalog."""
    writer = csv.writer(out)
    header = [*CORE_COLUMNS, *COPY_COLUMNS, *(attribute_column(n) for n in attribute_names)]
    writer.writerow([neutralise(c) for c in header])
    for row in rows:
        copy = row.get("copy") or {}
        attrs = row.get("attributes") or {}
        cells = [
            row["sku"],
            row["title"],
            row.get("brand", ""),
            row.get("category", ""),
            str(row["price"]),
            row.get("currency", ""),
            str(row.get("stock", 0)),
            row.get("status", "active"),
            LIST_SEPARATOR.join(row.get("tags") or []),
            row.get("image_url", ""),
        ]
        for column in COPY_COLUMNS:
            value = copy.get(column, "")
            cells.append(LIST_SEPARATOR.join(value) if isinstance(value, list) else value)
        cells.extend(str(attrs.get(name, "")) for name in attribute_names)
        writer.writerow([neutralise(c) for c in cells])
