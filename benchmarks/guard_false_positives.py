"""False-positive rate of the name, data-label and prompt-echo guards on real product copy.

Runs ``contentgen.guards.check_names``, ``check_labels`` and ``check_prompt_echo`` over the
human-written descriptions of the Amazon 2018 Industrial & Scientific items
(``/work/shared/data/amazon_scientific/items.csv``, see its SOURCES.md). Each description
is checked against that item's own facts (title, brand, category path), the facts a
merchant's catalog would hold; every flag on such real copy counts as a false positive
(the copy is real, even where it names parts or places the facts lack).

    python benchmarks/guard_false_positives.py [--items N] [--examples 10] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_ITEMS = (
    Path(os.environ.get("AMAZON_SCIENTIFIC_DIR", "/work/shared/data/amazon_scientific"))
    / "items.csv"
)


def facts_of(row: dict) -> dict:
    categories = [c.strip() for c in (row.get("categories") or "").split(",") if c.strip()]
    return {
        "sku": row["item_id"],
        "title": row.get("title") or "",
        "brand": row.get("brand") or "",
        "category": " > ".join(categories),
    }


def main() -> None:
    from contentgen.guards import HARD, check_labels, check_names, check_prompt_echo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(DEFAULT_ITEMS))
    parser.add_argument("--items", type=int, default=0, help="0 = all")
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    with open(args.path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("description") or "").strip()]
    if args.items:
        rows = rows[: args.items]
    flagged: collections.Counter = collections.Counter()
    names: collections.Counter = collections.Counter()
    examples: list[dict] = []
    for row in rows:
        facts = facts_of(row)
        text = row["description"].strip()
        flags = (
            check_names(text, facts)
            + check_labels("description", text, facts)
            + check_prompt_echo(text)
        )
        # the first 155 characters: about as long as a meta description or a few headlines
        for code, severity in {(f.code, f.severity) for f in check_names(text[:155], facts)}:
            flagged[(f"{code}_first_155_chars", severity)] += 1
        codes = {(f.code, f.severity) for f in flags}
        for code in codes:
            flagged[code] += 1
        if any(sev == HARD for _code, sev in codes):
            flagged[("any", HARD)] += 1
        if flags:
            flagged[("any", "any")] += 1
        for f in flags:
            for name in f.detail.get("names", []):
                names[name] += 1
        if flags and len(examples) < args.examples:
            examples.append(
                {"item": row["item_id"], "flags": [f.message for f in flags], "text": text[:200]}
            )
    n = len(rows)
    summary = {
        "descriptions": n,
        "rates": {
            f"{code}/{sev}": {"count": c, "rate": round(c / n, 4)}
            for (code, sev), c in sorted(flagged.items())
        },
        "top_names": names.most_common(25),
        "examples": examples,
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
