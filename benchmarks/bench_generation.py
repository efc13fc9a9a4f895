"""Copy generation throughput: batched (batch 16) against one product at a time.

    python benchmarks/bench_generation.py                      # default model, CPU, 16 products
    python benchmarks/bench_generation.py --products 32 --kind description
    python benchmarks/bench_generation.py --random-init-from DIR --device cuda   # GPU, see below

Runs the real pipeline (prompt, chat template, batched sampling, parsing, guards) on the same
products twice, once with ``--batch-size`` and once with batch size 1, one variant per product
and no regeneration, and reports products per minute, generated tokens per second, the speed-up,
the guard pass rate, load time and peak memory (process RSS; GPU memory on CUDA). Writes
``benchmarks/results/generation[_<tag>].json``.

``--random-init-from DIR`` builds the model from ``DIR/config.json`` with random weights and
the tokenizer saved in DIR (``--save-config DIR`` writes both from the default model). Random
weights rarely emit end-of-turn, so every answer runs to the token budget: this measures pure
throughput of the same architecture where the GGUF file cannot travel (the GPU machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRODUCTS = [
    (
        "MUG-1",
        "Stoneware mug",
        "Clayhouse",
        "Kitchen > Mugs",
        "18.00",
        {"Capacity": "350 ml", "Colour": "Sage green", "Material": "Stoneware"},
    ),
    (
        "KET-1",
        "Copper kettle",
        "Kuchen",
        "Kitchen > Kettles",
        "89.00",
        {"Capacity": "1.7 l", "Material": "Copper", "Hob": "Gas and electric"},
    ),
    (
        "TEE-1",
        "Organic cotton tee",
        "Northwear",
        "Clothing > T-shirts",
        "24.00",
        {"Material": "Organic cotton", "Fit": "Relaxed", "Colour": "Navy"},
    ),
    (
        "FIT-1",
        "Compression fitting",
        "Acme",
        "Plumbing > Fittings",
        "4.99",
        {"Size": "1-9/16 in", "Material": "Brass", "Pack": "2 pcs"},
    ),
    (
        "LAMP-1",
        "Desk lamp",
        "Lumo",
        "Home > Lighting",
        "59.00",
        {"Bulb": "LED 6 W", "Colour temperature": "3000 K", "Finish": "Matte black"},
    ),
    (
        "BAG-1",
        "Canvas tote bag",
        "Carryall",
        "Accessories > Bags",
        "29.00",
        {"Material": "Canvas", "Size": "40 x 38 cm", "Handles": "Leather"},
    ),
    (
        "PAN-1",
        "Cast iron skillet",
        "Forge & Co",
        "Kitchen > Cookware",
        "45.00",
        {"Diameter": "26 cm", "Material": "Cast iron", "Pre-seasoned": "yes"},
    ),
    (
        "SOCK-1",
        "Merino hiking socks",
        "Trailfoot",
        "Clothing > Socks",
        "16.00",
        {"Material": "Merino wool", "Sizes": "S, M, L", "Cushioning": "Full"},
    ),
]


def products(n: int) -> list[dict]:
    out = []
    for i in range(n):
        sku, title, brand, category, price, attrs = PRODUCTS[i % len(PRODUCTS)]
        out.append(
            {
                "sku": f"{sku}-{i}",
                "title": title,
                "brand": brand,
                "category": category,
                "price": price,
                "currency": "EUR",
                "attributes": attrs,
            }
        )
    return out


def peak_rss_mb() -> float:
    # ru_maxrss is kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_backend(args):
    import torch

    from contentgen import backends

    if args.random_init_from:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        device, dtype = backends._pick_device(args.device)
        config = AutoConfig.from_pretrained(args.random_init_from)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(args.random_init_from)
        label = f"{config.model_type} random init ({args.random_init_from})"
        return backends.Backend(model, tokenizer, label=label, device=device, dtype=dtype)
    return backends.load_backend(args.model, device=args.device)


def run(backend, items, kind: str, batch_size: int, max_new_tokens: int | None) -> dict:
    from contentgen.generation import CopyRequest, GenerationStats, generate

    stats = GenerationStats()
    requests = [CopyRequest(p["sku"], p, kind) for p in items]
    started = time.perf_counter()
    results = generate(
        backend,
        requests,
        variants=1,
        candidates=1,  # raw model throughput: one sample, no grounding (bench_copy_pipeline
        grounded=False,  # measures the whole pipeline)
        max_attempts=1,
        batch_size=batch_size,
        stats=stats,
        seed=1,
        max_new_tokens=max_new_tokens,
        chunk_requests=len(requests),
    )
    seconds = time.perf_counter() - started
    variants = [v for r in results for v in r.variants]
    return {
        "batch_size": batch_size,
        "products": len(items),
        "seconds": round(seconds, 2),
        "products_per_minute": round(len(items) / seconds * 60, 2),
        "new_tokens": stats.new_tokens,
        "tokens_per_second": round(stats.new_tokens / seconds, 1),
        "guard_pass_rate": round(sum(v.passed for v in variants) / len(variants), 3),
        "sample": variants[0].text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="model id or folder (default: SmolLM2-135M-Instruct)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--products", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--kind", default="seo_description")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--random-init-from", default=None)
    parser.add_argument(
        "--save-config",
        default=None,
        help="write the default model's config and tokenizer to DIR and exit",
    )
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    import torch

    from contentgen import backends

    if args.save_config:
        backend = backends.load_backend(args.model, device="cpu")
        config = backend.base_model.config
        config.quantization_config = None
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.save_pretrained(args.save_config)
        backend.tokenizer.save_pretrained(args.save_config)
        print(f"wrote config and tokenizer to {args.save_config}")
        return

    started = time.perf_counter()
    backend = build_backend(args)
    load_seconds = time.perf_counter() - started
    items = products(args.products)
    run(backend, items[:2], args.kind, 2, 8)  # warm-up
    if backend.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    batched = run(backend, items, args.kind, args.batch_size, args.max_new_tokens)
    print(f"batch {args.batch_size}: {json.dumps(batched)}", flush=True)
    single = None
    if not args.skip_sequential:
        single = run(backend, items, args.kind, 1, args.max_new_tokens)
        print(f"batch 1: {json.dumps(single)}", flush=True)
    result = {
        "model": backend.label,
        "device": backend.device,
        "dtype": str(backend.dtype),
        "kind": args.kind,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if backend.device.startswith("cuda") else None,
            "load_average": os.getloadavg()[0],
        },
        "load_seconds": round(load_seconds, 1),
        "batched": batched,
        "one_at_a_time": single,
        "speedup_products_per_minute": round(
            batched["products_per_minute"] / single["products_per_minute"], 2
        )
        if single
        else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if backend.device.startswith("cuda")
        else None,
        "command": " ".join(["python", "benchmarks/bench_generation.py", *sys.argv[1:]]),
    }
    out_dir = Path(os.environ.get("BENCH_OUT_DIR", ROOT / "benchmarks" / "results"))
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"generation{('_' + args.tag) if args.tag else ''}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("batched", "one_at_a_time")}, indent=2
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
