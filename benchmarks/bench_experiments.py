"""Experiments benchmark: assignment cost per call, report time at 1,000,000 exposures, roll-up time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_stats python benchmarks/bench_experiments.py

What it measures (writes benchmarks/results/experiments.json):

1. Assignment: ``assignment.variant_index`` (GrowthBook-v2 FNV-1a hash into 10,000 buckets and
   the bucket-range lookup) per call, over 200,000 distinct visitor ids; and the whole
   ``services.exposure_record_and_variant`` per call (running-experiment query, hash, INSERT ...
   ON CONFLICT DO NOTHING of the exposure) on the database.
2. Report: an experiment with 1,000,000 exposures and 50,000 converters held as daily roll-ups
   (2 variants x 60 days = 120 VariantDay rows, the shape the roll-up task writes), then
   ``selectors.experiment_report`` (reads roll-ups, cumulative series, stats.analyze with the
   sequential history, secondary metrics) plus the three SVG charts, and the full report page
   through the Django test client. Target: at most 2 s. Median of 5 runs.
3. Roll-up: ``services.experiment_rollup`` (full) over --rollup-exposures exposures with purchase,
   add-to-cart and click events for about 5% of them, read from the tracking Event table.
4. Segments: the per-segment breakdown (``selectors.experiment_segments``, a grouped join of
   exposures and segment memberships) over --segment-exposures exposure rows, every visitor in
   one of 8 segments and a quarter also in a ninth, and ``experiment_report`` including it.

The benchmark merchant ("bench-experiments") is deleted and re-created on each run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import timeit
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")

import django  # noqa: E402

django.setup()
warnings.filterwarnings("ignore", message="No directory at")

import numpy as np  # noqa: E402
from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from merchandising.accounts import services as accounts  # noqa: E402
from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog.services import product_bulk_upsert  # noqa: E402
from merchandising.experiments import assignment, charts, selectors, services  # noqa: E402
from merchandising.experiments.models import Exposure, VariantDay  # noqa: E402

SLUG = "bench-experiments"
TARGET_REPORT_S = 2.0


def fresh_merchant():
    Merchant.objects.filter(slug=SLUG).delete()
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username="bench-exp-owner", defaults={"email": "bx@example.test"}
    )
    merchant = accounts.merchant_create(name="Experiments benchmark", slug=SLUG, owner=user)
    product_bulk_upsert(
        merchant=merchant,
        items=[
            {"sku": f"BX-{i}", "title": f"Bench product {i}", "price": "20.00", "stock": 5,
             "copy": {"description": f"Original description {i}."}}
            for i in range(3)
        ],
    )  # fmt: skip
    return merchant, user


def make_experiment(merchant, key: str):
    products = list(merchant.products.order_by("sku"))
    return services.experiment_create(
        merchant=merchant, key=key, name=key, kind="copy", field="description", products=products,
        variants=[{"name": "A", "weight": 0.5, "is_control": True},
                  {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "Bench copy B"}}}],
    )  # fmt: skip


def bench_assignment(merchant) -> dict:
    ids = [f"visitor-{i:08d}-{i * 7919 % 100003}" for i in range(200_000)]
    weights = (0.5, 0.5)
    start = time.perf_counter()
    for vid in ids:
        assignment.variant_index("copy-test-2026-desc", vid, weights)
    per_call_us = (time.perf_counter() - start) / len(ids) * 1e6
    bucket_us = (
        timeit.timeit(lambda: assignment.bucket("copy-test-2026-desc", ids[123]), number=100_000)
        * 10
    )
    exp = make_experiment(merchant, "bench-assign")
    services.experiment_start(experiment=exp)
    product = merchant.products.order_by("sku").first()
    n = 2000
    start = time.perf_counter()
    for vid in ids[:n]:
        services.exposure_record_and_variant(merchant=merchant, visitor_id=vid, product=product)
    first_ms = (time.perf_counter() - start) / n * 1e3
    start = time.perf_counter()
    for vid in ids[:n]:  # already exposed: ON CONFLICT DO NOTHING
        services.exposure_record_and_variant(merchant=merchant, visitor_id=vid, product=product)
    repeat_ms = (time.perf_counter() - start) / n * 1e3
    services.experiment_stop(experiment=exp)
    return {
        "variant_index_us_per_call": round(per_call_us, 2),
        "bucket_hash_us_per_call": round(bucket_us, 2),
        "exposure_record_and_variant_ms_first_exposure": round(first_ms, 3),
        "exposure_record_and_variant_ms_repeat_visitor": round(repeat_ms, 3),
        "ids": len(ids),
    }


def bench_report(merchant, user, exposures: int, conversions: int, days: int) -> dict:
    exp = make_experiment(merchant, "bench-report")
    services.experiment_start(experiment=exp)
    a, b = list(exp.variants.order_by("position"))
    rng = np.random.default_rng(1)
    per_day = np.full(days, exposures // (2 * days))
    per_day[: (exposures // 2) - per_day.sum()] += 1
    rows = []
    for arm, share in ((a, 0.48), (b, 0.52)):
        conv = rng.multinomial(int(conversions * share), per_day / per_day.sum())
        for d in range(days):
            revenue = float(conv[d] * 35.0)
            rows.append(
                VariantDay(
                    merchant=merchant,
                    experiment=exp,
                    variant=arm,
                    day=date(2026, 1, 1) + timedelta(days=d),
                    exposures=int(per_day[d]),
                    converters=int(conv[d]),
                    add_to_cart=int(conv[d] * 3),
                    clickers=int(per_day[d] // 10),
                    revenue_sum=revenue,
                    revenue_sumsq=float(conv[d] * 35.0**2 * 1.3),
                )  # fmt: skip
            )
    VariantDay.objects.bulk_create(rows)
    total_exposures = sum(r.exposures for r in rows)
    total_conversions = sum(r.converters for r in rows)
    compute, page = [], []
    client = Client()
    client.force_login(user)
    url = f"/m/{merchant.slug}/experiments/{exp.pk}/"
    for _ in range(5):
        start = time.perf_counter()
        report = selectors.experiment_report(merchant, exp)
        charts.cumulative_rate_chart(report["series"])
        charts.posterior_chart(
            [(v["name"], v["units"], v["conversions"]) for v in report["analysis"]["variants"]]
        )
        compute.append(time.perf_counter() - start)
        start = time.perf_counter()
        resp = client.get(url, HTTP_HOST="localhost")
        assert resp.status_code == 200, resp.status_code
        page.append(time.perf_counter() - start)
    services.experiment_stop(experiment=exp)
    return {
        "exposures": total_exposures,
        "conversions": total_conversions,
        "rollup_rows": len(rows),
        "report_compute_s_median": round(statistics.median(compute), 4),
        "report_page_s_median": round(statistics.median(page), 4),
        "report_page_s_max": round(max(page), 4),
        "target_s": TARGET_REPORT_S,
        "decision": report["analysis"]["decision"]["sentence"],
    }


def bench_rollup(merchant, n: int) -> dict | None:
    if not apps.is_installed("merchandising.tracking"):
        return None
    Event = apps.get_model("tracking", "Event")
    exp = make_experiment(merchant, "bench-rollup")
    services.experiment_start(experiment=exp)
    a, b = list(exp.variants.order_by("position"))
    sku = merchant.products.order_by("sku").first().sku
    now = timezone.now()
    rng = np.random.default_rng(2)
    exposures, events = [], []
    for i in range(n):
        vid = f"rv{i}"
        seen = now - timedelta(days=int(rng.integers(0, 28)), minutes=int(rng.integers(0, 1440)))
        exposures.append(
            Exposure(
                merchant=merchant,
                experiment=exp,
                variant=a if i % 2 else b,
                visitor_id=vid,
                first_seen=seen,
            )
        )
        if rng.random() < 0.05:
            for k, etype in enumerate(("click", "add_to_cart", "purchase")):
                events.append(
                    Event(merchant=merchant, event_id=f"bx{i}-{k}", type=etype, visitor_id=vid, sku=sku,
                          ts=seen + timedelta(minutes=5 + k), value=Decimal("25.00") if etype == "purchase" else None)
                )  # fmt: skip
        if rng.random() < 0.3:  # unrelated browsing
            events.append(
                Event(
                    merchant=merchant,
                    event_id=f"bx{i}-v",
                    type="view",
                    visitor_id=vid,
                    sku=sku,
                    ts=seen,
                )
            )
    Exposure.objects.bulk_create(exposures, batch_size=5000)
    Event.objects.bulk_create(events, batch_size=5000)
    start = time.perf_counter()
    rows = services.experiment_rollup(experiment=exp, full=True)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    services.experiment_rollup(experiment=exp)
    incremental_s = time.perf_counter() - start
    return {
        "exposures": n,
        "events": len(events),
        "rows": rows,
        "full_rollup_s": round(full_s, 3),
        "incremental_rollup_s": round(incremental_s, 3),
    }


def bench_segments(merchant, n: int, segments: int = 8, repeat: int = 5) -> dict | None:
    """The per-segment breakdown with ``n`` exposure rows (5 % converted) whose visitors are all
    in one of ``segments`` found segments, and a quarter also in a rule segment: the grouped join
    of exposures and memberships that the report adds. Median of ``repeat`` runs, and the whole
    ``experiment_report`` (which includes it) over the same rows."""
    if not apps.is_installed("recsys.segments"):
        return None
    from recsys.segments.models import Segment, SegmentMembership

    exp = make_experiment(merchant, "bench-segments")
    a, b = list(exp.variants.order_by("position"))
    found = [
        Segment.objects.create(merchant=merchant, kind="found", name=f"Found {k}")
        for k in range(segments)
    ]
    rule = Segment.objects.create(merchant=merchant, kind="rule", name="Rule")
    first = datetime(2026, 1, 1, tzinfo=UTC)
    chunk = 50_000
    for lo in range(0, n, chunk):
        ids = range(lo, min(n, lo + chunk))
        Exposure.objects.bulk_create(
            [
                Exposure(merchant=merchant, experiment=exp, variant=a if i % 2 else b, visitor_id=f"sv{i}",
                         first_seen=first + timedelta(seconds=i), converted=i % 20 == 0)
                for i in ids
            ],
            batch_size=5000,
        )  # fmt: skip
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(merchant=merchant, segment=found[i % segments], visitor_id=f"sv{i}") for i in ids]
            + [SegmentMembership(merchant=merchant, segment=rule, visitor_id=f"sv{i}") for i in ids if i % 4 == 0],
            batch_size=5000,
        )  # fmt: skip
    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would have by now
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    breakdown, report = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        rows = selectors.experiment_segments(merchant, exp)
        breakdown.append(time.perf_counter() - start)
        start = time.perf_counter()
        selectors.experiment_report(merchant, exp)
        report.append(time.perf_counter() - start)
    assert len(rows) == segments + 1 and sum(r["units"] for r in rows) == n + (n + 3) // 4
    return {
        "exposures": n,
        "memberships": n + (n + 3) // 4,
        "segments": segments + 1,
        "breakdown_median_s": round(statistics.median(breakdown), 4),
        "breakdown_max_s": round(max(breakdown), 4),
        "report_with_breakdown_median_s": round(statistics.median(report), 4),
        "target_s": TARGET_REPORT_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exposures", type=int, default=1_000_000)
    parser.add_argument("--conversions", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rollup-exposures", type=int, default=100_000)
    parser.add_argument("--segment-exposures", type=int, default=1_000_000)
    parser.add_argument(
        "--parts",
        default="assignment,report,rollup,segments",
        help="comma-separated subset to run",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    settings.DEBUG = False
    out = ROOT / "benchmarks" / "results" / "experiments.json"
    # a partial run updates the parts it ran and keeps the others' latest figures
    result = (
        json.loads(out.read_text())
        if out.exists() and parts != {"assignment", "report", "rollup", "segments"}
        else {}
    )
    merchant, user = fresh_merchant()
    try:
        result.update(
            machine={"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                     "load_average_at_start": os.getloadavg()},
            database=settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            ran_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )  # fmt: skip
        if "assignment" in parts:
            result["assignment"] = bench_assignment(merchant)
            print("assignment:", json.dumps(result["assignment"]))
        if "report" in parts:
            result["report"] = bench_report(
                merchant, user, args.exposures, args.conversions, args.days
            )
            print("report:", json.dumps(result["report"]))
        if "rollup" in parts and args.rollup_exposures:
            result["rollup"] = bench_rollup(merchant, args.rollup_exposures)
            print("rollup:", json.dumps(result["rollup"]))
        if "segments" in parts and args.segment_exposures:
            result["segments"] = bench_segments(merchant, args.segment_exposures)
            print("segments:", json.dumps(result["segments"]))
    finally:
        Merchant.objects.filter(slug=SLUG).delete()
    out = ROOT / "benchmarks" / "results" / "experiments.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
