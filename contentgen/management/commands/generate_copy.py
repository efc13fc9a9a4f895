"""python manage.py generate_copy --products FILE.csv --kinds description,seo_title,ad_headline
[--model ID_OR_PATH] [--adapter DIR|house|none] [--candidates N] [--no-grounding]
[--batch-size N] [--seed S] --out FILE.jsonl

Batch generation and evaluation without the database: reads products from a CSV (``sku,title``
plus optional ``brand,category,price,description`` and any attribute columns), writes one JSON
line per product and kind, and prints a summary line.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from contentgen import backends, specs
from contentgen.adapters import AdapterFileError, resolve_adapter_option
from contentgen.facts import facts_from_row
from contentgen.generation import (
    DEFAULT_CANDIDATES,
    FACT_BOOST,
    CopyRequest,
    GenerationStats,
    iter_generate,
)


def read_products(path: Path, *, drop: tuple[str, ...] = ()) -> list[dict]:
    """Facts dicts from a products CSV; a missing ``sku`` or ``title`` column is an error.
    Columns in ``drop`` (a reference text, say) are not facts and are left out."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("sku", "title") if c not in columns]
        if missing:
            raise CommandError(
                f"{path} has no {' or '.join(missing)} column (found: {', '.join(columns)})."
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            facts = facts_from_row(
                {(k or "").strip(): v for k, v in row.items() if (k or "").strip() not in drop}
            )
            if not facts.get("sku") or not facts.get("title"):
                raise CommandError(f"{path} line {line}: sku and title are required.")
            rows.append(facts)
    return rows


def add_model_options(parser) -> None:
    """``--adapter`` and the decoding options shared with ``copy_evaluate``."""
    parser.add_argument(
        "--adapter",
        default=None,
        help="house (default with the default model), none, or a PEFT LoRA adapter folder",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=DEFAULT_CANDIDATES,
        help=f"candidates sampled per field, the best kept (default {DEFAULT_CANDIDATES})",
    )
    parser.add_argument(
        "--no-grounding", action="store_true", help="decode without the facts' constraints"
    )
    parser.add_argument(
        "--fact-boost",
        type=float,
        default=FACT_BOOST,
        help=f"logit nudge toward unmentioned key facts (default {FACT_BOOST}; 0 turns it off)",
    )


def load_for_command(opts):
    """The backend for ``--model`` and ``--adapter``; a CommandError says what is wrong."""
    try:
        adapter = resolve_adapter_option(opts["adapter"], opts["model"])
        return backends.load_backend(opts["model"], adapter=adapter)
    except (AdapterFileError, backends.ModelLoadError) as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Generate product copy for a products CSV into a JSONL file (no database use)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            required=True,
            type=Path,
            help="CSV with sku,title[,brand,category,price,description,...]",
        )
        parser.add_argument(
            "--kinds",
            default="description,seo_title,ad_headline",
            help=f"comma-separated: {', '.join(specs.KIND_NAMES)}",
        )
        parser.add_argument(
            "--model",
            default=None,
            help="HF model id or local folder (default: $CONTENTGEN_BASE_MODEL or SmolLM2-135M-Instruct)",
        )
        add_model_options(parser)
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--variants", type=int, default=None, help="variants per kind (default: the kind's own)"
        )
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=2,
            help="rounds of candidates when none passes the hard guards",
        )
        parser.add_argument(
            "--max-new-tokens", type=int, default=None, help="cap every kind's token budget"
        )
        parser.add_argument(
            "--voice",
            type=Path,
            default=None,
            help="brand voice as a JSON file (tone, audience, avoid_words, ...)",
        )
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args, **opts):
        try:
            kinds = specs.parse_kinds(opts["kinds"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not opts["products"].is_file():
            raise CommandError(f"{opts['products']} is not a file.")
        products = read_products(opts["products"])
        voice = json.loads(opts["voice"].read_text()) if opts["voice"] else None
        started = time.monotonic()
        backend = load_for_command(opts)
        self.stderr.write(
            f"Model {backend.model_id} on {backend.device} ({time.monotonic() - started:.1f}s to load)"
        )
        requests = [CopyRequest(p["sku"], p, k) for p in products for k in kinds]
        stats = GenerationStats()
        drafts = passed = 0
        gen_started = time.monotonic()
        with (
            opts["out"].open("w", encoding="utf-8") as out,
            tqdm(
                total=len(requests), unit="field", desc="Generating", file=self.stderr._out
            ) as bar,
        ):
            for result in iter_generate(
                backend,
                requests,
                voice=voice,
                variants=opts["variants"],
                candidates=opts["candidates"],
                grounded=not opts["no_grounding"],
                fact_boost=opts["fact_boost"],
                seed=opts["seed"],
                batch_size=opts["batch_size"],
                max_attempts=opts["max_attempts"],
                max_new_tokens=opts["max_new_tokens"],
                stats=stats,
            ):
                line = {
                    "sku": result.key,
                    "kind": result.kind,
                    "variants": [v.to_dict() for v in result.variants],
                }
                if result.warnings:
                    line["warnings"] = result.warnings
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                drafts += len(result.variants)
                passed += sum(1 for v in result.variants if v.passed)
                bar.update(1)
        seconds = time.monotonic() - gen_started
        per_minute = len(products) / seconds * 60 if seconds else 0.0
        rate = passed / drafts if drafts else 0.0
        self.stdout.write(
            f"products={len(products)} kinds={len(kinds)} seconds={seconds:.1f} "
            f"products_per_minute={per_minute:.2f} tokens_per_second={stats.tokens_per_second:.1f} "
            f"guard_pass_rate={rate:.1%} ({passed}/{drafts} variants) out={opts['out']}"
        )
