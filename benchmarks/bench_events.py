"""Benchmark: storefront event ingestion into PostgreSQL, batches of 500.

Posts batches to ``POST /api/v1/storefront/events`` through Django's test client (the whole
view: publishable-key authentication, JSON parsing, per-event validation, SKU lookup and the
``INSERT ... ON CONFLICT DO NOTHING``) against the database in ``DATABASE_URL``, then the
same batches again (all duplicates). A throw-away merchant ``bench-events`` is created and
deleted. Prints the figures and writes ``benchmarks/results/events.json``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_recsys python benchmarks/bench_events.py \
        [--batches 100] [--batch-size 500]
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from merchandising.accounts import services as accounts  # noqa: E402
from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog.services import product_bulk_upsert  # noqa: E402
from merchandising.tracking.models import Event  # noqa: E402

SLUG = "bench-events"
TYPES = ["view"] * 6 + ["click", "impression", "add_to_cart", "purchase"]


def setup_shop(n_products: int):
    Merchant.objects.filter(slug=SLUG).delete()
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="bench-events-owner")
    merchant = accounts.merchant_create(
        name="Bench events", slug=SLUG, owner=owner, storefront_origins=[]
    )
    _, key = accounts.api_key_create(merchant=merchant, name="bench", kind="publishable")
    product_bulk_upsert(
        merchant=merchant,
        items=[
            {"sku": f"B-{i:05d}", "title": f"Thing {i}", "price": "9.99", "stock": 1}
            for i in range(n_products)
        ],
    )
    return merchant, key


def batches(n_batches: int, size: int, n_products: int):
    out = []
    for b in range(n_batches):
        events = []
        for j in range(size):
            n = b * size + j
            kind = TYPES[n % len(TYPES)]
            events.append(
                {
                    "event_id": f"ev-{n}",
                    "type": kind,
                    "visitor_id": f"visitor-{(n * 7919) % 20000}",
                    # one in a hundred names a SKU the shop does not have
                    "sku": f"B-{n % n_products:05d}" if n % 100 else f"GONE-{n % 7}",
                    "ts": f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
                    "value": "19.90" if kind == "purchase" else None,
                    "placement": "home" if kind in ("impression", "click") else "",
                    "request_id": f"req-{n // 10}" if kind in ("impression", "click") else "",
                }
            )
        out.append(json.dumps({"events": events}))
    return out


def run(client: Client, key: str, bodies: list[str]) -> tuple[float, dict]:
    totals = {"accepted": 0, "duplicates": 0, "errors": 0, "unknown_skus": 0}
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            "/api/v1/storefront/events",
            data=body,
            content_type="application/json",
            HTTP_X_STOREFRONT_KEY=key,
        )
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")
        data = response.json()
        totals["accepted"] += data["accepted"]
        totals["duplicates"] += data["duplicates"]
        totals["errors"] += len(data["errors"])
        totals["unknown_skus"] += data["unknown_skus"]["count"]
    return time.perf_counter() - started, totals


def _worker(args: tuple[str, list[str]]) -> tuple[float, dict, float]:
    key, bodies = args
    from django.db import connections

    connections.close_all()  # a forked worker opens its own database connection
    settings.ALLOWED_HOSTS = ["*"]
    cpu = time.process_time()
    seconds, totals = run(Client(), key, bodies)
    return seconds, totals, time.process_time() - cpu


def run_parallel(key: str, bodies: list[str], workers: int) -> tuple[float, dict, float]:
    """Post the batches from ``workers`` processes (as several gunicorn workers would serve)."""
    if workers <= 1:
        cpu = time.process_time()
        seconds, totals = run(Client(), key, bodies)
        return seconds, totals, time.process_time() - cpu
    import multiprocessing

    from django.db import connections

    connections.close_all()
    chunks = [bodies[i::workers] for i in range(workers)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_worker, [(key, chunk) for chunk in chunks])
    seconds = time.perf_counter() - started
    totals: dict = {}
    for _, part, _ in parts:
        for k, v in part.items():
            totals[k] = totals.get(k, 0) + v
    return seconds, totals, sum(p[2] for p in parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="parallel client processes")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(
            "Set DATABASE_URL to a PostgreSQL database (the figure is for PostgreSQL)."
        )
    settings.ALLOWED_HOSTS = ["*"]
    merchant, key = setup_shop(args.products)
    try:
        bodies = batches(args.batches, args.batch_size, args.products)
        n = args.batches * args.batch_size
        load_before = os.getloadavg()[0]
        fresh_s, fresh, fresh_cpu = run_parallel(key, bodies, args.workers)
        dup_s, dup, _ = run_parallel(key, bodies, args.workers)
        stored = Event.objects.filter(merchant=merchant).count()
    finally:
        Merchant.objects.filter(pk=merchant.pk).delete()
    result = {
        "benchmark": "events",
        "events": n,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "new_events_per_second": round(n / fresh_s),
        # CPU seconds the Django side spent per 1,000 new events (excludes PostgreSQL's own).
        "client_cpu_ms_per_1000_events": round(1000 * 1000 * fresh_cpu / n, 1),
        "duplicate_events_per_second": round(n / dup_s),
        "new": fresh,
        "retried": dup,
        "stored": stored,
        "target_events_per_second": 5000,
        "database": f"PostgreSQL {connection.pg_version // 10000}",
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "events.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
