"""Platform files benchmark: a 20,000-variant Shopify import and a 50,000-product Merchant Center
feed, with their times and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/merchlab_bench python benchmarks/bench_platforms.py

What it measures (writes benchmarks/results/platforms.json):

1. Shopify import: a generated admin export in the current 2024+ layout, --handles products with
   --variants variants each (default 2,000 x 10 = 20,000 variant rows) plus one image-only row
   per product, HTML bodies with lists, and a multi-line body in every tenth product. It goes
   through ``services_platforms.product_import_platform``, what the import job runs: the file is
   streamed from disk, every row checked, then products, listings and live copy written in one
   transaction. Seconds for the first import (all new) and a re-import (all unchanged), and the
   peak Python heap during the first (tracemalloc, a separate pass because tracing slows it).
2. Feed: --products products (default 50,000) with live description copy, streamed as the
   Google Merchant Center feed to a byte counter: seconds, bytes, and the peak Python heap while
   streaming (a second, traced pass). Flat memory means the peak does not grow with the catalog.

The benchmark merchant ("bench-platforms") is deleted and re-created on each run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")

import django  # noqa: E402

django.setup()
warnings.filterwarnings("ignore", message="No directory at")

from bench_catalog import machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from merchandising.accounts import services as accounts  # noqa: E402
from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog.models import LiveCopy, Product  # noqa: E402
from merchandising.catalog.platforms import google_merchant  # noqa: E402
from merchandising.catalog.selectors_platforms import products_for_channels  # noqa: E402
from merchandising.catalog.services_platforms import product_import_platform  # noqa: E402

SLUG = "bench-platforms"
HEADER = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,"
    "Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Grams,Variant Price,"
    "Variant Compare At Price,Image Src,Image Position,SEO Title,SEO Description,Status\n"
)
SIZES = ["XS", "S", "M", "L", "XL"]
COLORS = ["Black", "White", "Navy", "Olive", "Sand", "Red"]


def write_shopify_export(path: Path, handles: int, variants: int) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff" + HEADER)
        for h in range(handles):
            handle = f"organic-cotton-tee-{h:05d}"
            body = (
                f"<p>Soft organic cotton tee number {h}, cut for an easy fit.</p>"
                "<ul><li>100% organic cotton</li><li>Machine wash cold</li></ul>"
            )
            if h % 10 == 0:
                body = body.replace("</p>", "</p>\r\n<p>Made in Portugal.</p>")
            for v in range(variants):
                size, color = SIZES[v % len(SIZES)], COLORS[(v // len(SIZES)) % len(COLORS)]
                first = v == 0
                cells = [
                    handle,
                    f"Organic cotton tee {h}" if first else "",
                    f'"{body}"' if first else "",
                    "Kuchen Apparel" if first else "",
                    "Apparel & Accessories > Clothing > Shirts & Tops" if first else "",
                    "T-Shirt" if first else "",
                    '"cotton, organic, tee"' if first else "",
                    "true" if first else "",
                    "Size" if first else "",
                    size,
                    "Color" if first else "",
                    f"{color} {v // 30}" if v >= 30 else color,
                    f"TEE-{h:05d}-{v:03d}",
                    "180",
                    f"{19 + v % 7}.90",
                    "29.90",
                    f"https://cdn.shopify.com/s/files/tee-{h}-{v}.jpg" if first else "",
                    "1" if first else "",
                    f"Organic cotton tee {h}" if first else "",
                    "A soft organic cotton tee." if first else "",
                    "active" if first else "",
                ]
                fh.write(",".join(cells) + "\n")
                rows += 1
            image_row = [handle] + [""] * 15 + [f"https://cdn.shopify.com/tee-{h}-back.jpg", "2"]
            fh.write(",".join(image_row + ["", "", ""]) + "\n")
            rows += 1
    return rows


def fresh_merchant() -> Merchant:
    Merchant.objects.filter(slug=SLUG).delete()
    owner, _ = get_user_model().objects.get_or_create(username=f"{SLUG}-owner")
    return accounts.merchant_create(
        name="Bench Platforms",
        slug=SLUG,
        owner=owner,
        storefront_origins=["https://bench-platforms.shop.test"],
    )


def timed_import(merchant, path: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    with path.open("rb") as fh:
        result = product_import_platform(
            merchant=merchant, fh=fh, format="shopify", size=path.stat().st_size
        )
    return time.perf_counter() - start, result


def bench_import(handles: int, variants: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "products_export.csv"
        rows = write_shopify_export(path, handles, variants)
        merchant = fresh_merchant()
        first, result = timed_import(merchant, path)
        assert result["error_count"] == 0 and result["created"] == handles, result
        again, result = timed_import(merchant, path)
        assert result["unchanged"] == handles, result
        merchant = fresh_merchant()
        tracemalloc.start()
        timed_import(merchant, path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {
            "rows": rows,
            "variant_rows": handles * variants,
            "products": handles,
            "file_mb": round(path.stat().st_size / 2**20, 2),
            "first_import_s": round(first, 2),
            "variant_rows_per_s": round(handles * variants / first),
            "reimport_unchanged_s": round(again, 2),
            "peak_python_heap_mb": round(peak / 2**20, 1),
        }


def seed_products(merchant, count: int) -> None:
    batch = 5_000
    for offset in range(0, count, batch):
        products = Product.objects.bulk_create(
            [
                Product(
                    merchant=merchant,
                    sku=f"FEED-{i:06d}",
                    title=f"Walnut serving board {i}",
                    brand="Kuchen",
                    category="Kitchen > Serving",
                    price="34.90",
                    currency="EUR",
                    stock=i % 5,
                    image_url=f"https://cdn.example.test/board-{i}.jpg",
                )
                for i in range(offset, min(count, offset + batch))
            ]
        )
        LiveCopy.objects.bulk_create(
            [
                LiveCopy(
                    merchant=merchant,
                    product=p,
                    field="description",
                    value=f"Oiled walnut board {p.sku}, 40 x 25 cm, cut from one piece. " * 4,
                )
                for p in products
            ]
        )


def stream_feed(merchant) -> tuple[float, int, google_merchant.FeedSummary]:
    summary = google_merchant.FeedSummary()
    size = 0
    start = time.perf_counter()
    for chunk in google_merchant.write(
        products_for_channels(merchant), summary, title="t", link="l", description="d"
    ):
        size += len(chunk.encode())
    return time.perf_counter() - start, size, summary


def bench_feed(count: int) -> dict:
    merchant = fresh_merchant()
    seed_products(merchant, count)
    seconds, size, summary = stream_feed(merchant)
    tracemalloc.start()
    stream_feed(merchant)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "products": count,
        "items": summary.items,
        "left_out": len(summary.left_out),
        "feed_mb": round(size / 2**20, 1),
        "seconds": round(seconds, 2),
        "products_per_s": round(count / seconds),
        "peak_python_heap_mb": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handles", type=int, default=2_000)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/platforms.json")
    args = parser.parse_args()
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    load_before = round(os.getloadavg()[0], 2)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "shopify_import": bench_import(args.handles, args.variants),
        "feed": bench_feed(args.products),
    }
    results["load_1min"] = {"before": load_before, "after": round(os.getloadavg()[0], 2)}
    Merchant.objects.filter(slug=SLUG).delete()
    out = io.StringIO()
    json.dump(results, out, indent=2)
    print(out.getvalue())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(out.getvalue() + "\n")


if __name__ == "__main__":
    main()
