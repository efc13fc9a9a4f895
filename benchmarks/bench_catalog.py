"""Catalog benchmark: CSV import throughput and product list latency at 50,000 products.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/merchlab_bench python benchmarks/bench_catalog.py

What it measures (writes benchmarks/results/catalog.json):

1. Import: a 50,000-row CSV from the demo catalog generator (merchandising.demo.catalog_data,
   13 base columns + 30 attribute columns, description and SEO copy on ~80 % of rows) imported
   through ``merchandising.catalog.services.product_import_csv``, the service the import Celery job
   runs: decode, validate every row, upsert by SKU, publish copy columns as live copy with history.
   Rows per second for the first import (all new) and a re-import of the same file (all unchanged).
2. Server time of the dashboard product list page and the merchant API list at 50,000 products:
   each request goes through the whole Django stack in-process (middleware, auth, query, template
   or serializer) with the test client, so the figure excludes only the network. Median and p95
   over all requests, and per scenario (first page, a deep page, search, filters, cursor pages).
   Target: p95 under 150 ms.

The benchmark merchant ("bench-catalog") is deleted and re-created on each run. Runs on whatever
DATABASE_URL names; the figures docs/benchmarks/catalog.md quotes are on PostgreSQL. DEBUG is switched off after
start-up so Django does not keep every SQL query in memory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")

import django  # noqa: E402

django.setup()
warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic here

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# The app as the web server loads it (every view imported, start-up objects frozen out of the
# garbage collector's full passes), so the timings are those of a served process.
import merchandising.wsgi  # noqa: E402, F401
from merchandising.accounts import services as accounts  # noqa: E402
from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog import services as catalog  # noqa: E402
from merchandising.catalog.models import Product  # noqa: E402
from merchandising.demo.catalog_data import generate_catalog, write_catalog_csv  # noqa: E402

SLUG = "bench-catalog"
TARGET_P95_MS = 150.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(ms: list[float]) -> dict:
    return {
        "requests": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1),
    }


def fresh_merchant():
    Merchant.objects.filter(slug=SLUG).delete()
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username="bench-owner", defaults={"email": "bench@example.test"}
    )
    merchant = accounts.merchant_create(name="Benchmark shop", slug=SLUG, owner=user)
    _, secret = accounts.api_key_create(merchant=merchant, name="bench", kind="secret")
    return merchant, user, secret


def bench_import(merchant, rows: int) -> dict:
    buf = io.StringIO()
    t0 = time.perf_counter()
    write_catalog_csv(buf, n=rows)
    data = buf.getvalue().encode("utf-8")
    generate_s = time.perf_counter() - t0
    print(f"CSV: {rows:,} rows, {len(data) / 1e6:.1f} MB, generated in {generate_s:.1f} s")

    phases: list[tuple[float, int, str]] = []

    def report(progress: int, message: str = "") -> None:
        phases.append((time.perf_counter(), progress, message))

    results = {}
    for label in ("first_import", "reimport_unchanged"):
        phases.clear()
        t0 = time.perf_counter()
        result = catalog.product_import_csv(merchant=merchant, data=data, report=report)
        seconds = time.perf_counter() - t0
        checked = next((t for t, p, _ in phases if p >= 30), t0)
        results[label] = {
            "rows": rows,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "validate_seconds": round(checked - t0, 2),
            "write_seconds": round(seconds - (checked - t0), 2),
            "result": {k: v for k, v in result.items() if k != "errors"},
        }
        print(
            f"{label}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s ({results[label]['result']})"
        )
    results["csv_megabytes"] = round(len(data) / 1e6, 1)
    return results


def time_requests(client: Client, scenarios: list[tuple[str, str, dict]], repeat: int) -> dict:
    """Warm each scenario once, then time ``repeat`` rounds of all scenarios interleaved."""
    for _, url, headers in scenarios:
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    per: dict[str, list[float]] = {name: [] for name, _, _ in scenarios}
    queries: dict[str, int] = {}
    for _ in range(repeat):
        for name, url, headers in scenarios:
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(url, **headers)
                per[name].append((time.perf_counter() - t0) * 1000)
            queries[name] = len(ctx.captured_queries)
            assert response.status_code == 200, (url, response.status_code)
    everything = [ms for values in per.values() for ms in values]
    return {
        "overall": summary(everything),
        "scenarios": {
            name: {**summary(ms), "sql_queries": queries[name]} for name, ms in per.items()
        },
    }


def bench_lists(merchant, user, secret: str, repeat: int) -> dict:
    sample = generate_catalog(40)
    category = sample[7]["category"]
    brand = sample[3]["brand"]
    total = Product.objects.filter(merchant=merchant).count()

    page = Client(HTTP_HOST="localhost")
    page.force_login(user)
    base = f"/m/{SLUG}/catalog/"
    deep_page = max(1, total // 50 // 2)
    page_scenarios = [
        ("first page", base, {}),
        ("deep page", f"{base}?page={deep_page}", {}),
        ("search 'saucepan'", f"{base}?q=saucepan", {}),
        ("search by sku", f"{base}?q=KCS-000120", {}),
        (
            "category filter",
            f"{base}?category={category.replace(' ', '+').replace('>', '%3E')}",
            {},
        ),
        ("brand + in stock", f"{base}?brand={brand.replace(' ', '+')}&stock=in", {}),
        (
            "htmx results only",
            f"{base}?q=lamp",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "product-results"},
        ),
    ]
    print(f"Dashboard product list ({total:,} products)")
    dashboard = time_requests(page, page_scenarios, repeat)

    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    first = api.get("/api/v1/products").json()
    cursor_url = first.get("next") or "/api/v1/products"
    # follow a few cursors to reach a page deep in the catalog
    for _ in range(20):
        nxt = api.get(cursor_url).json().get("next")
        if not nxt:
            break
        cursor_url = nxt
    cursor_path = cursor_url.split("localhost", 1)[-1] if "localhost" in cursor_url else cursor_url
    api_scenarios = [
        ("first page (100)", "/api/v1/products", {}),
        ("cursor page 20", cursor_path, {}),
        ("search 'kettle'", "/api/v1/products?q=kettle", {}),
        (
            "category filter",
            f"/api/v1/products?category={category.replace(' ', '+').replace('>', '%3E')}",
            {},
        ),
        ("status archived", "/api/v1/products?status=archived", {}),
    ]
    print("API product list")
    api_result = time_requests(api, api_scenarios, repeat)
    # The largest page the API allows: reported apart, not part of the target.
    api_max_page = time_requests(api, [("limit 500", "/api/v1/products?limit=500", {})], repeat)
    return {
        "products": total,
        "dashboard_list": dashboard,
        "api_list": api_result,
        "api_list_max_page": api_max_page,
    }


def machine() -> dict:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            db_version = cursor.fetchone()[0]
        else:
            db_version = ""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "database": f"{connection.vendor} {db_version}".strip(),
        "note": "shared 2-core development machine with other work running; figures vary run to run",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds per list scenario")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "catalog.json"))
    parser.add_argument(
        "--lists-only",
        action="store_true",
        help="time the lists on the products of an earlier run (keeps its import figures)",
    )
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        print(f"warning: running on {connection.vendor}; the documented figures are for PostgreSQL")
    call_command("migrate", run_syncdb=True, verbosity=0)
    settings.DEBUG = False  # do not keep every query in memory; templates lose debug info
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if args.lists_only:
        merchant = Merchant.objects.get(slug=SLUG)
        user = get_user_model().objects.get(username="bench-owner")
        _, secret = accounts.api_key_create(merchant=merchant, name="bench", kind="secret")
        previous = Path(args.out)
        imports = json.loads(previous.read_text())["import"] if previous.exists() else {}
    else:
        merchant, user, secret = fresh_merchant()
        imports = bench_import(merchant, args.rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a bulk load: statistics and the visibility map
            # (without it a COUNT(*) must visit every heap page instead of the index alone).
            cursor.execute("VACUUM ANALYZE catalog_product")
            cursor.execute("VACUUM ANALYZE catalog_livecopy")
    lists = bench_lists(merchant, user, secret, args.repeat)

    out = {
        "benchmark": "catalog",
        "command": "python benchmarks/bench_catalog.py"
        + (f" --rows {args.rows}" if args.rows != 50_000 else ""),
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            **machine(),
            "load_average_1m_before_after": [
                round(load_before[0], 2),
                round(os.getloadavg()[0], 2),
            ],
        },
        "import": imports,
        "lists": lists,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": {
            "dashboard_list": lists["dashboard_list"]["overall"]["p95_ms"] < TARGET_P95_MS,
            "api_list": lists["api_list"]["overall"]["p95_ms"] < TARGET_P95_MS,
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")

    print()
    for label in ("first_import", "reimport_unchanged"):
        if label not in imports:
            continue
        i = imports[label]
        print(
            f"import {label:<20} {i['rows']:>7,} rows  {i['seconds']:>7.1f} s  {i['rows_per_s']:>7,} rows/s"
        )
    for key in ("dashboard_list", "api_list", "api_list_max_page"):
        o = lists[key]["overall"]
        print(
            f"{key:<15} median {o['median_ms']:>6.1f} ms  p95 {o['p95_ms']:>6.1f} ms  (target p95 < {TARGET_P95_MS:.0f} ms)"
        )
        for name, s in lists[key]["scenarios"].items():
            print(
                f"    {name:<22} median {s['median_ms']:>6.1f} ms  p95 {s['p95_ms']:>6.1f} ms  {s['sql_queries']} queries"
            )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
