"""Analysis of any experiment data in a CSV file. Pure: no Django import.

Used by ``manage.py experiment_analyze`` so the numbers can be checked against other
tools: one row per exposure (or per unit), a variant column, a converted column and
optionally a unit column (only each unit's first row counts) and a value column
(revenue; Welch's t-test on value per unit).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from merchandising.experiments import stats

TRUE_VALUES = frozenset({"1", "true", "t", "yes", "y"})
FALSE_VALUES = frozenset({"0", "false", "f", "no", "n", ""})


class AnalysisInputError(ValueError):
    """The CSV cannot be analysed as asked (missing column, bad value)."""


def parse_converted(raw: str, *, line: int) -> bool:
    """1/0, true/false (any case), yes/no; an empty cell counts as not converted."""
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    try:
        return float(value) > 0
    except ValueError:
        raise AnalysisInputError(
            f"line {line}: converted value {raw!r} is not 1/0 or true/false"
        ) from None


def count_rows(
    rows: Iterable[dict[str, str]],
    *,
    variant_col: str,
    converted_col: str,
    unit_col: str | None = None,
    value_col: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-variant units, conversions and value sums, in order of first appearance."""
    counts: dict[str, dict[str, Any]] = {}
    seen_units: set[str] = set()
    for line, row in enumerate(rows, start=2):
        if unit_col is not None:
            unit = row[unit_col]
            if unit in seen_units:
                continue
            seen_units.add(unit)
        name = row[variant_col].strip()
        if not name:
            raise AnalysisInputError(f"line {line}: empty variant")
        c = counts.setdefault(
            name, {"name": name, "units": 0, "conversions": 0, "value_sum": 0.0, "value_sumsq": 0.0}
        )
        c["units"] += 1
        c["conversions"] += parse_converted(row[converted_col] or "", line=line)
        if value_col is not None:
            raw = (row[value_col] or "").strip()
            try:
                v = float(raw) if raw else 0.0
            except ValueError:
                raise AnalysisInputError(f"line {line}: value {raw!r} is not a number") from None
            c["value_sum"] += v
            c["value_sumsq"] += v * v
    if value_col is None:
        for c in counts.values():
            del c["value_sum"], c["value_sumsq"]
    return counts


def analyze_csv(
    source: str | Path | TextIO,
    *,
    variant_col: str,
    converted_col: str,
    control: str | None = None,
    unit_col: str | None = None,
    value_col: str | None = None,
    alpha: float = 0.05,
    sequential: bool = False,
) -> dict[str, Any]:
    """Read the CSV and return ``stats.analyze`` output for its variants.

    The control defaults to the first variant in sorted name order, so the result does
    not depend on row order.
    """
    if isinstance(source, (str, Path)):
        with open(source, newline="", encoding="utf-8-sig") as fh:
            return analyze_csv(
                fh, variant_col=variant_col, converted_col=converted_col, control=control,
                unit_col=unit_col, value_col=value_col, alpha=alpha, sequential=sequential,
            )  # fmt: skip
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    for col in (variant_col, converted_col, unit_col, value_col):
        if col is not None and col not in header:
            raise AnalysisInputError(f"column {col!r} not in CSV header {header}")
    counts = count_rows(
        reader,
        variant_col=variant_col,
        converted_col=converted_col,
        unit_col=unit_col,
        value_col=value_col,
    )
    if len(counts) < 2:
        raise AnalysisInputError(f"need at least two variants, found {sorted(counts)}")
    names = sorted(counts)
    if control is not None and control not in counts:
        raise AnalysisInputError(f"control {control!r} not among variants {names}")
    ordered = [counts[n] for n in names]
    return stats.analyze(ordered, control=control or names[0], alpha=alpha, sequential=sequential)
