"""A merchant's standing past copy: an uploaded JSONL or CSV of copy the merchant owns, checked
line by line and kept as training data for every later fine-tuning run.

Checking happens in the web process, without a tokenizer (web processes do not load PyTorch or
transformers), so "too long" is an estimate from the length of the prompt and the text (about
:data:`CHARS_PER_TOKEN` characters per token, on the cautious side); the run itself measures
exact token counts and leaves out what is still too long.

A line is either **bad** (not readable as an example: invalid JSON, a missing or wrongly typed
field) or a readable example that is **left out** for a reason (unknown kind, unknown SKU, fails
a hard guard, a duplicate, too long). Like the catalog CSV import, a file with a bad line is
refused whole unless the merchant asks to keep only the valid lines (``partial``); left-out
examples never refuse the file, they are counted with their line.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contentgen.finetuning import data as D
from contentgen.specs import KIND_NAMES, normalize_kind
from merchandising import inputs

MAX_PAST_COPY_BYTES = 5 * 1024 * 1024
MAX_PROBLEMS_KEPT = 200
CHARS_PER_TOKEN = 3.0

REASONS = {
    "bad_line": "bad line",
    "unknown_kind": "unknown kind",
    "unknown_sku": "unknown SKU",
    "failed_guards": "fails a hard guard",
    "duplicate": "duplicate",
    "too_long": "too long",
}

FORMAT_HELP = {
    "jsonl": (
        'One JSON object per line: {"product": {"sku": "MUG-1", "title": "Stoneware mug", '
        '"brand": "...", "attributes": {...}}, "kind": "description", "text": "..."}. '
        "text may be a list of strings for list kinds (bullets). A product may be just "
        '{"sku": "MUG-1"} when that SKU is in your catalog: its facts are taken from there.'
    ),
    "csv": (
        "A header row with the columns kind and text, and sku or title, plus any product "
        "columns of the catalog CSV (brand, category, price, attribute columns). For list kinds "
        "put one item per line inside the quoted text cell. A row with a SKU of your catalog and "
        "no title takes the product's facts from the catalog."
    ),
}


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def too_big_message(size: int) -> str | None:
    """Why a file of ``size`` bytes is refused, or None when it is small enough."""
    if size <= MAX_PAST_COPY_BYTES:
        return None
    return (
        f"The file is {_size(size)}; past copy uploads are limited to "
        f"{_size(MAX_PAST_COPY_BYTES)}. Split it or leave out older copy."
    )


class PastCopyRefused(ValueError):
    """Nothing was kept: the file cannot be read, or it has bad lines and ``partial`` is off."""

    def __init__(self, message: str, field_name: str = "file", report: dict | None = None):
        super().__init__(message)
        self.field_name = field_name
        self.report = report or {}


@dataclass
class Problem:
    line: int
    reason: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class _Row:
    line: int
    product: dict
    kind: str
    text: Any


@dataclass
class Checked:
    records: list[D.CopyRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0

    @property
    def bad_lines(self) -> list[Problem]:
        return [p for p in self.problems if p.reason == "bad_line"]

    def report(self) -> dict[str, Any]:
        per_kind = Counter(r.kind for r in self.records)
        left_out = Counter(p.reason for p in self.problems)
        return {
            "lines": self.lines,
            "kept": len(self.records),
            "per_kind": {k: per_kind[k] for k in KIND_NAMES if per_kind.get(k)},
            "left_out": {k: left_out[k] for k in REASONS if left_out.get(k)},
            "left_out_total": len(self.problems),
            "problems": [p.as_dict() for p in self.problems[:MAX_PROBLEMS_KEPT]],
        }


# --------------------------------------------------------------------------- reading


def decode(content: bytes, filename: str) -> tuple[str, str]:
    """(text, "jsonl" | "csv"); PastCopyRefused for a file too big, not UTF-8 or of another type."""
    too_big = too_big_message(len(content))
    if too_big:
        raise PastCopyRefused(too_big)
    name = (filename or "").lower()
    if name.endswith(".csv"):
        fmt = "csv"
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        fmt = "jsonl"
    else:
        raise PastCopyRefused("Upload a .jsonl or .csv file of past copy.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PastCopyRefused(
            f"The file is not UTF-8 text (byte {exc.start + 1}). Save it as UTF-8 and upload again."
        ) from exc
    if not text.strip():
        raise PastCopyRefused("The file is empty.")
    return text, fmt


def _jsonl_rows(text: str, problems: list[Problem]) -> tuple[list[_Row], int]:
    rows: list[_Row] = []
    lines = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        lines += 1

        def bad(message: str, field_name: str = "", n: int = n) -> None:
            problems.append(Problem(n, "bad_line", message, field_name))

        try:
            obj = inputs.json_loads(line)
        except inputs.JSONRefused as exc:
            bad(str(exc))
            continue
        if not isinstance(obj, dict):
            bad("expected an object with product, kind and text.")
            continue
        missing = [k for k in ("product", "kind", "text") if k not in obj]
        if missing:
            bad(f"{missing[0]} is missing.", missing[0])
            continue
        if not isinstance(obj["product"], dict):
            bad("must be an object of product facts.", "product")
            continue
        if not isinstance(obj["kind"], str) or not obj["kind"].strip():
            bad("must be a content kind name, e.g. description.", "kind")
            continue
        value = obj["text"]
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                bad("a list text must hold only strings.", "text")
                continue
            if not any(v.strip() for v in value):
                bad("is empty.", "text")
                continue
        elif not isinstance(value, str):
            bad("must be a string, or a list of strings for list kinds.", "text")
            continue
        elif not value.strip():
            bad("is empty.", "text")
            continue
        product = obj["product"]
        if (
            not str(product.get("title") or "").strip()
            and not str(product.get("sku") or "").strip()
        ):
            bad("needs a title, or the sku of a product in your catalog.", "product")
            continue
        rows.append(_Row(n, product, obj["kind"].strip(), value))
    return rows, lines


def _csv_rows(text: str, problems: list[Problem]) -> tuple[list[_Row], int]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = {c.strip() for c in (reader.fieldnames or []) if c}
    except csv.Error as exc:
        raise PastCopyRefused(f"The CSV cannot be read: {exc}.") from exc
    missing = [c for c in ("kind", "text") if c not in columns]
    if missing:
        raise PastCopyRefused(
            f"The CSV needs the columns kind and text, and sku or title; missing: "
            f"{', '.join(missing)}.",
        )
    if not columns & {"sku", "title"}:
        raise PastCopyRefused("The CSV needs a sku or a title column to name each product.")
    rows: list[_Row] = []
    lines = 0
    start = reader.line_num + 1  # the header may span lines too
    try:
        for row in reader:
            # a quoted cell may hold line breaks: name the line the row starts on
            n, start = start, reader.line_num + 1
            lines += 1
            row = {(k or "").strip(): v for k, v in row.items()}
            if None in row.values() or "" in row and row[""]:
                problems.append(
                    Problem(n, "bad_line", "has more or fewer cells than the header.", "")
                )
                continue
            kind = (row.get("kind") or "").strip()
            value = row.get("text") or ""
            if not kind:
                problems.append(Problem(n, "bad_line", "is empty.", "kind"))
                continue
            if not value.strip():
                problems.append(Problem(n, "bad_line", "is empty.", "text"))
                continue
            if not (row.get("title") or "").strip() and not (row.get("sku") or "").strip():
                problems.append(
                    Problem(
                        n, "bad_line", "needs a title, or the sku of a catalog product.", "title"
                    )
                )
                continue
            product = _facts_from_cells({k: v for k, v in row.items() if k not in ("kind", "text")})
            rows.append(_Row(n, product, kind, value))
    except csv.Error as exc:
        raise PastCopyRefused(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from exc
    return rows, lines


def _facts_from_cells(cells: dict[str, Any]) -> dict:
    if not (cells.get("title") or "").strip():
        # a SKU-only row: the catalog gives the facts
        return {"sku": (cells.get("sku") or "").strip()}
    from contentgen.facts import facts_from_row

    return facts_from_row(cells)


# --------------------------------------------------------------------------- checking


def _estimate_tokens(facts: dict, kind: str, text: str, voice: Any) -> int:
    from contentgen.prompts import build_messages

    messages = build_messages(facts, kind, voice)
    chars = sum(len(m.get("content", "")) for m in messages) + len(text)
    return int(chars / CHARS_PER_TOKEN) + 16


def check(
    content: bytes,
    filename: str,
    *,
    catalog: dict[str, dict] | None = None,
    voice: Any = None,
    max_length: int | None = None,
    hard_check: D.HardCheck | None = D.guard_hard_check,
) -> Checked:
    """Read and check a past-copy file. ``catalog`` maps the merchant's SKUs to product facts.

    Raises PastCopyRefused when the file cannot be read at all; bad lines are problems with
    reason "bad_line" (the caller decides whether they refuse the file).
    """
    from contentgen.finetuning.training import LoraSettings

    catalog = catalog or {}
    max_length = max_length or LoraSettings().max_length
    text, fmt = decode(content, filename)
    problems: list[Problem] = []
    rows, lines = (_jsonl_rows if fmt == "jsonl" else _csv_rows)(text, problems)
    out = Checked(lines=lines)
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        try:
            kind = normalize_kind(row.kind)
        except ValueError:
            problems.append(
                Problem(
                    row.line,
                    "unknown_kind",
                    f"{row.kind!r} is not a content kind; known: {', '.join(KIND_NAMES)}.",
                    "kind",
                )
            )
            continue
        facts = dict(row.product)
        sku = str(facts.get("sku") or "").strip()
        if not str(facts.get("title") or "").strip():
            known = catalog.get(sku)
            if known is None:
                problems.append(
                    Problem(
                        row.line,
                        "unknown_sku",
                        f"SKU {sku!r} is not in your catalog; give the product's title and "
                        "facts, or add the product first.",
                        "sku",
                    )
                )
                continue
            facts = {**known, **{k: v for k, v in facts.items() if v not in (None, "")}}
        value = D._as_value(kind, row.text)
        answer = D.answer_text(kind, value)
        facts = D.facts_without_answer(facts, kind, answer)
        if hard_check is not None:
            reasons = hard_check(kind, value, facts, voice)
            if reasons:
                problems.append(Problem(row.line, "failed_guards", " ".join(reasons), "text"))
                continue
        key = (
            kind,
            str(facts.get("sku") or facts.get("title") or ""),
            " ".join(answer.split()).lower(),
        )
        if key in seen:
            problems.append(
                Problem(
                    row.line,
                    "duplicate",
                    "the same product, kind and text as an earlier line.",
                    "text",
                )
            )
            continue
        seen.add(key)
        tokens = _estimate_tokens(facts, kind, answer, voice)
        if tokens > max_length:
            problems.append(
                Problem(
                    row.line,
                    "too_long",
                    f"about {tokens} tokens with its prompt; training takes at most {max_length}.",
                    "text",
                )
            )
            continue
        out.records.append(
            D.CopyRecord(
                facts=facts, kind=kind, value=value, source="upload", ref=f"line {row.line}"
            )
        )
    out.problems = sorted(problems, key=lambda p: p.line)
    return out
