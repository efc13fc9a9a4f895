"""Dashboard benchmark: server time of every page of the owner's day on the demo data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/merchlab_bench python benchmarks/bench_dashboard.py

Seeds the demo merchant with the demo's own steps (``merchandising.demo.seed.seed_all``, what
``make demo`` and ``manage.py seed_demo`` run: catalog, copy history, a month of simulated
shoppers, a trained recommender, two finished placement tests, a copy test, segments and segment
drafts), signs in as the demo owner with Django's test client, and requests each page of the
owner's day (home, catalog, a product, generation, review queue, experiments, every experiment
report, placements, the placement report, model versions, segments, settings, jobs) ``--repeat``
times, interleaved. Each request goes through the whole Django stack in-process (middleware,
session, queries, template), so the figure is server time without the network.

Writes benchmarks/results/dashboard.json: per page the median, p95 and maximum in ms and the
number of SQL queries, the time of the first load (before the timed rounds, with the placement
report's kept figures forgotten), plus the machine and its load average. Target: p95 under
300 ms per page. The placement report is timed twice: as served (its figures kept for
MERCHLAB_REPORT_CACHE_SECONDS) and counted again on every request (``refresh=1``).

The demo's "copy" step (queueing a generation job for the gpu worker) is skipped: no worker runs
here, and the segment drafts already fill the review queue. Seeding is idempotent, so a second
run on the same database re-uses the demo data (``--reseed`` deletes the demo merchant first).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench_catalog sets up Django the way the web server loads it and holds the shared helpers.
from bench_catalog import ROOT, machine, time_requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog.models import Product  # noqa: E402
from merchandising.demo.seed import DEMO_SLUG, seed_all  # noqa: E402
from merchandising.experiments.models import Experiment  # noqa: E402
from merchandising.storefront.selectors import placement_report_forget  # noqa: E402

TARGET_P95_MS = 300.0


def owner_day_pages(merchant) -> list[tuple[str, str, dict]]:
    base = f"/m/{merchant.slug}"
    product = Product.objects.filter(merchant=merchant, status="active").order_by("sku").first()
    pages = [
        ("home", f"{base}/", {}),
        ("catalog list", f"{base}/catalog/", {}),
        ("product page", f"{base}/catalog/{product.pk}/", {}),
        ("generation", f"{base}/content/", {}),
        ("review queue", f"{base}/content/review/", {}),
        ("experiments list", f"{base}/experiments/", {}),
    ]
    for experiment in Experiment.objects.filter(merchant=merchant).order_by("pk"):
        pages.append(
            (f"experiment report: {experiment.key}", f"{base}/experiments/{experiment.pk}/", {})
        )
    pages += [
        ("placements list", f"{base}/recommendations/", {}),
        ("placement report (7 days)", f"{base}/recommendations/report/", {}),
        ("placement report (30 days)", f"{base}/recommendations/report/?days=30", {}),
        (
            "placement report (30 days, counted again)",
            f"{base}/recommendations/report/?days=30&refresh=1",
            {},
        ),
        ("model versions", f"{base}/recommendations/models/", {}),
        ("segments", f"{base}/segments/", {}),
        ("settings", f"{base}/settings/", {}),
        ("jobs", f"{base}/jobs/", {}),
    ]
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed rounds over all pages")
    parser.add_argument("--reseed", action="store_true", help="delete the demo merchant first")
    parser.add_argument("--tag", default="", help="suffix of the result file (dashboard_<tag>)")
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        print(f"warning: running on {connection.vendor}; the documented figures are for PostgreSQL")
    call_command("migrate", verbosity=0)
    if args.reseed:
        Merchant.objects.filter(slug=DEMO_SLUG).delete()
    context = seed_all(say=print, skip=("copy",))
    settings.DEBUG = False  # do not keep every SQL query in memory
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")  # what autovacuum does soon after the seeding's bulk writes

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    client = Client(HTTP_HOST="localhost")
    client.force_login(context.owner)
    pages = owner_day_pages(context.merchant)
    print(f"{len(pages)} pages, {args.repeat} rounds")
    # First load: each page once, the placement report's kept figures forgotten before.
    placement_report_forget(context.merchant.pk)
    first_load = {}
    for name, url, headers in pages:
        t0 = time.perf_counter()
        response = client.get(url, **headers)
        first_load[name] = round((time.perf_counter() - t0) * 1000, 1)
        assert response.status_code == 200, (url, response.status_code)
    result = time_requests(client, pages, args.repeat)
    for name, ms in first_load.items():
        result["scenarios"][name]["first_load_ms"] = ms
    load_after = os.getloadavg()

    over = {
        name: page["p95_ms"]
        for name, page in result["scenarios"].items()
        if page["p95_ms"] >= TARGET_P95_MS
    }
    out = {
        "benchmark": "dashboard",
        "command": "python benchmarks/bench_dashboard.py"
        + (f" --repeat {args.repeat}" if args.repeat != 20 else ""),
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "pages": result["scenarios"],
        "overall": result["overall"],
        "target_p95_ms": TARGET_P95_MS,
        "pages_over_target": over,
    }
    name = f"dashboard_{args.tag}.json" if args.tag else "dashboard.json"
    path = ROOT / "benchmarks" / "results" / name
    path.write_text(json.dumps(out, indent=2) + "\n")

    width = max(len(n) for n in result["scenarios"])
    print(f"\n{'page':<{width}}  first  median    p95      max  queries")
    for page_name, page in result["scenarios"].items():
        flag = "  OVER" if page_name in over else ""
        print(
            f"{page_name:<{width}}  {page['first_load_ms']:>6.1f} {page['median_ms']:>6.1f} {page['p95_ms']:>6.1f} "
            f"{page['max_ms']:>8.1f}  {page['sql_queries']:>7}{flag}"
        )
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
