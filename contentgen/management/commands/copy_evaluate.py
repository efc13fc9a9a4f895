"""Evaluate generated copy on a products CSV, per kind, against its facts and a reference.

    python manage.py copy_evaluate --products FILE.csv [--reference-column description]
        [--kinds description,seo_title,ad_headline] [--model ID] [--adapter DIR|house|none]
        [--candidates N] [--no-grounding] [--limit N] [--samples 10] --json OUT

Per kind: guard pass rate, products with a passing variant, claim precision and the invented
claims in passing variants, mean fact coverage, chrF of descriptions against the reference
column, and products per minute (see ``contentgen/evaluation.py``). The reference column is
never shown to the model. ``--samples`` verbatim outputs (the best and the worst first
variants) go into the JSON for the documentation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from contentgen import specs
from contentgen.evaluation import KindReport
from contentgen.generation import CopyRequest, GenerationStats, iter_generate

from .generate_copy import add_model_options, load_for_command, read_products


class Command(BaseCommand):
    help = "Evaluate generated copy per kind: guards, invented claims, coverage, chrF, speed."

    def add_arguments(self, parser):
        parser.add_argument("--products", required=True, type=Path)
        parser.add_argument("--reference-column", default="description")
        parser.add_argument("--kinds", default="description,seo_title,ad_headline")
        parser.add_argument("--model", default=None)
        add_model_options(parser)
        parser.add_argument("--limit", type=int, default=None, help="first N products only")
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--samples", type=int, default=10)
        parser.add_argument("--json", required=True, type=Path, dest="json_out")

    def handle(self, *args, **opts):
        try:
            kinds = specs.parse_kinds(opts["kinds"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        path: Path = opts["products"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        ref_col = (opts["reference_column"] or "").strip()
        products = read_products(path, drop=(ref_col,) if ref_col else ())
        references = _references(path, ref_col) if ref_col else {}
        if opts["limit"]:
            products = products[: opts["limit"]]
        if not products:
            raise CommandError(f"{path} has no products.")
        backend = load_for_command(opts)
        self.stderr.write(f"Model {backend.model_id} on {backend.device}")
        facts_by_sku = {p["sku"]: p for p in products}
        reports: dict[str, KindReport] = {}
        samples: list[dict] = []
        stats = GenerationStats()
        for kind in kinds:
            report = reports[kind] = KindReport(kind)
            requests = [CopyRequest(p["sku"], p, kind) for p in products]
            started = time.monotonic()
            outcomes = []
            with tqdm(total=len(requests), unit="product", desc=kind, file=self.stderr._out) as bar:
                for result in iter_generate(
                    backend,
                    requests,
                    candidates=opts["candidates"],
                    grounded=not opts["no_grounding"],
                    fact_boost=opts["fact_boost"],
                    seed=opts["seed"],
                    batch_size=opts["batch_size"],
                    stats=stats,
                ):
                    report.add(result, facts_by_sku[result.key], references.get(result.key, ""))
                    outcomes.append(result)
                    bar.update(1)
            report.seconds = time.monotonic() - started
            samples.extend(_samples(outcomes, facts_by_sku, kind))
        summary = {
            "products_file": str(path),
            "products": len(products),
            "model": backend.model_id,
            "grounding": not opts["no_grounding"],
            "fact_boost": opts["fact_boost"],
            "candidates": opts["candidates"],
            "kinds": {k: r.summary() for k, r in reports.items()},
            "tokens_per_second": round(stats.tokens_per_second, 1),
            "samples": _pick(samples, opts["samples"]),
        }
        opts["json_out"].parent.mkdir(parents=True, exist_ok=True)
        opts["json_out"].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        for kind, r in summary["kinds"].items():
            self.stdout.write(
                f"{kind}: pass {r['guard_pass_rate']}, products passing "
                f"{r['products_with_passing_variant']}, claim precision {r['claim_precision']}, "
                f"invented {r['invented_claims_in_passing']}, coverage {r['mean_fact_coverage']}, "
                f"chrF {r['chrf']}, {r['products_per_minute']} products/min"
            )
        self.stdout.write(f"wrote {opts['json_out']}")


def _references(path: Path, column: str) -> dict[str, str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if column not in (reader.fieldnames or []):
            raise CommandError(f"{path} has no {column!r} column for --reference-column.")
        return {row["sku"].strip(): (row.get(column) or "").strip() for row in reader}


def _samples(results, facts_by_sku, kind) -> list[dict]:
    out = []
    for result in results:
        if not result.variants:
            continue
        v = result.variants[0]
        facts = facts_by_sku[result.key]
        out.append(
            {
                "sku": result.key,
                "title": facts.get("title", ""),
                "kind": kind,
                "text": v.text,
                "passed": v.passed,
                "coverage": v.coverage,
                "flags": [f["message"] for f in v.flags],
                "rank": v.rank.get("reason", ""),
            }
        )
    return out


def _pick(samples: list[dict], n: int) -> list[dict]:
    """Half good (passing, highest coverage), half bad (failing first), across kinds."""
    good = sorted((s for s in samples if s["passed"]), key=lambda s: -s["coverage"])
    bad = sorted(samples, key=lambda s: (s["passed"], s["coverage"]))
    picked, seen = [], set()
    for s in [x for pair in zip(good, bad, strict=False) for x in pair]:
        key = (s["sku"], s["kind"])
        if key not in seen:
            seen.add(key)
            picked.append(s)
        if len(picked) >= n:
            break
    return picked
