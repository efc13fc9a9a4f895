"""The cost of each step of the copy pipeline on the CPU: grounding per token, and N candidates.

    python benchmarks/bench_copy_pipeline.py --products var/house/held_out.csv --limit 16
    python benchmarks/bench_copy_pipeline.py ... --candidates 1,2,4 --dtypes float32,bfloat16

For each CPU dtype and each N: descriptions for ``--limit`` products of the products CSV with
the house adapter, grounded decoding and best-of-N, then the same with grounding off at the
default N. Reports products per minute, generated tokens per second, the share of products with
a passing description and the mean fact coverage of the kept one. Separately, the grounding
processor alone is timed per token (per batch row) on the real tokenizer, against the model's
time per token. Writes ``benchmarks/results/copy_pipeline[_<tag>].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _products(path: Path, limit: int) -> list[dict]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")
    import django

    django.setup()
    from contentgen.management.commands.generate_copy import read_products

    return read_products(path, drop=("description",))[:limit]


def _run(backend, products, *, candidates: int, grounded: bool) -> dict:
    from contentgen.generation import CopyRequest, GenerationStats, generate

    stats = GenerationStats()
    requests = [CopyRequest(p["sku"], p, "description") for p in products]
    started = time.perf_counter()
    results = generate(
        backend, requests, candidates=candidates, grounded=grounded, variants=1, stats=stats
    )
    seconds = time.perf_counter() - started
    passing = sum(1 for r in results if r.variants and r.variants[0].passed)
    return {
        "candidates": candidates,
        "grounded": grounded,
        "products": len(products),
        "seconds": round(seconds, 1),
        "products_per_minute": round(len(products) / seconds * 60, 2),
        "tokens_per_second": round(stats.tokens_per_second, 1),
        "products_with_passing_description": round(passing / len(products), 3),
        "mean_coverage": round(sum(r.variants[0].coverage for r in results) / len(results), 3),
    }


def _grounding_cost(backend, products, steps: int = 120, rows: int = 16) -> dict:
    import torch

    from contentgen.grounding import Fit, GroundedDecoding, Grounding, token_strings

    tok = backend.tokenizer
    token_strings(tok)  # built once per process; not part of the per-token cost
    pairs = [
        (Grounding.from_facts(p), Fit.for_kind("description")) for p in (products * rows)[:rows]
    ]
    eos = backend.eos_ids
    text = tok(" A sturdy everyday piece made for daily use", add_special_tokens=False)
    ids = torch.tensor([text["input_ids"]] * rows)
    processor = GroundedDecoding(tok, pairs, prompt_len=0, eos_ids=eos)
    gen = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for _ in range(steps):
        scores = torch.randn((rows, len(tok)), generator=gen)
        out = processor(ids, scores)
        choice = out.argmax(dim=-1, keepdim=True)
        ids = torch.cat([ids, choice], dim=1)
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "steps": steps,
        "ms_per_step": round(seconds / steps * 1000, 2),
        "us_per_token": round(seconds / (steps * rows) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=Path, default=ROOT / "var/house/held_out.csv")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--candidates", default="1,2,4")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--adapter", default="house")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    products = _products(args.products, args.limit)

    import torch

    from contentgen import backends
    from contentgen.adapters import resolve_adapter_option

    adapter = resolve_adapter_option(args.adapter, None)
    runs = []
    grounding = None
    for dtype in args.dtypes.split(","):
        os.environ["CONTENTGEN_CPU_DTYPE"] = dtype
        backends.clear_cache()
        backend = backends.load_backend("default", adapter=adapter, device="cpu")
        if grounding is None:
            grounding = _grounding_cost(backend, products)
            print("grounding", json.dumps(grounding), flush=True)
        for n in [int(x) for x in args.candidates.split(",")]:
            row = {"dtype": dtype, **_run(backend, products, candidates=n, grounded=True)}
            print(json.dumps(row), flush=True)
            runs.append(row)
        n = max(int(x) for x in args.candidates.split(","))
        row = {"dtype": dtype, **_run(backend, products, candidates=n, grounded=False)}
        print(json.dumps(row), flush=True)
        runs.append(row)
    result = {
        "benchmark": "copy_pipeline",
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
            "cpu_bf16": backends.cpu_bf16_supported(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": " ".join(sys.argv),
        "adapter": args.adapter,
        "grounding_processor": grounding,
        "runs": runs,
    }
    out = (
        ROOT / "benchmarks" / "results" / f"copy_pipeline{'_' + args.tag if args.tag else ''}.json"
    )
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
