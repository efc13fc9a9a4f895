"""Sample outputs of the real pipeline for a few demo products (the examples in docs/guide/copy-generation.md).

    python benchmarks/sample_copy.py [--device cuda] [--products 4] [--model ID_OR_PATH]

No database: the same path as ``manage.py generate_copy`` (prompt, chat template, batched
sampling with a seed per variant, parsing, guards, up to 3 attempts per variant), on the
benchmark's products. Writes one JSON line per product and kind to
``benchmarks/results/samples[_<tag>].jsonl`` and prints the best variant of each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

KINDS = ("description", "seo_title", "seo_description", "ad_headline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--products", type=int, default=4)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    from bench_generation import products

    from contentgen import backends
    from contentgen.generation import CopyRequest, GenerationStats, generate

    started = time.perf_counter()
    backend = backends.load_backend(args.model, device=args.device)
    load_seconds = time.perf_counter() - started
    items = products(args.products)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    requests = [CopyRequest(p["sku"], p, kind) for p in items for kind in kinds]
    stats = GenerationStats()
    started = time.perf_counter()
    results = generate(backend, requests, seed=args.seed, stats=stats, batch_size=16)
    seconds = time.perf_counter() - started
    out_dir = Path(os.environ.get("BENCH_OUT_DIR", ROOT / "benchmarks" / "results"))
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"samples{('_' + args.tag) if args.tag else ''}.jsonl"
    variants = [v for r in results for v in r.variants]
    with out.open("w", encoding="utf-8") as fh:
        for result in results:
            line = {
                "sku": result.key,
                "kind": result.kind,
                "variants": [v.to_dict() for v in result.variants],
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            best = min(result.variants, key=lambda v: (not v.passed, -v.coverage))
            flags = ", ".join(f["code"] for f in best.flags) or "none"
            print(
                f"{result.key} {result.kind} (passed={best.passed}, flags: {flags}): "
                f"{json.dumps(best.text, ensure_ascii=False)}"
            )
    print(
        json.dumps(
            {
                "model": backend.label,
                "device": backend.device,
                "dtype": str(backend.dtype),
                "load_seconds": round(load_seconds, 1),
                "products": len(items),
                "answers": len(variants),
                "sampled_answers": stats.prompts,
                "seconds": round(seconds, 1),
                "new_tokens": stats.new_tokens,
                "guard_pass_rate": round(sum(v.passed for v in variants) / len(variants), 3),
                "out": str(out),
            }
        )
    )


if __name__ == "__main__":
    main()
