"""Review benchmark: how fast the queue answers and how many decisions a second go through.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_review python benchmarks/bench_review.py

What it measures (writes benchmarks/results/review.json):

1. Server time of the review queue page (first page, a filtered page, a later page) with
   ``--products`` products each holding pending drafts for three fields and two variants (6 drafts
   per product): the whole Django stack in-process with the test client (middleware, session,
   queries, diff, template), so only the network is left out. Median and p95; queries per page.
2. Decisions: ``draft_approve`` (lock, guards' flags check, publish through live_copy_publish,
   supersede the sibling variant, log, brand-voice example) and ``draft_reject`` per second, one
   after another in one process.
3. The pure word diff on description-sized texts (about 120 words), diffs per second.

The benchmark merchant ("bench-review") is deleted and re-created on each run.
"""

from __future__ import annotations

import argparse
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
warnings.filterwarnings("ignore", message="No directory at")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from tqdm import tqdm  # noqa: E402

from contentgen.guards import check_copy  # noqa: E402
from contentgen.models import CopyDraft  # noqa: E402
from contentgen.review import services  # noqa: E402
from contentgen.review.diff import word_diff  # noqa: E402
from merchandising.accounts import services as accounts  # noqa: E402
from merchandising.accounts.models import Merchant  # noqa: E402
from merchandising.catalog.services import product_bulk_upsert  # noqa: E402

SLUG = "bench-review"
DESCRIPTION = (
    "This {material} saucepan from Kuchen heats quickly and evenly, so sauces, custards and grains "
    "cook gently without scorching. It holds {capacity}, enough for a family side dish or a batch "
    "of soup. The {material} body looks lovely on an open shelf and polishes back to a warm shine. "
    "Use it every day for boiling, simmering and reducing, and enjoy how quickly it responds when "
    "you turn the heat up or down. A practical pan for cooks who like to see and feel what is "
    "happening in the pot, number {i}."
)


def setup(n_products: int):
    Merchant.objects.filter(slug=SLUG).delete()
    User = get_user_model()
    User.objects.filter(username__startswith="bench-review-").delete()
    owner = User.objects.create_user("bench-review-owner", "o@bench.test", "x")
    merchant = accounts.merchant_create(name="Bench review", slug=SLUG, owner=owner)
    items = [
        {
            "sku": f"PAN-{i:05d}",
            "title": f"Copper saucepan {i}",
            "brand": "Kuchen",
            "category": ["Kitchen > Cookware", "Kitchen > Bakeware", "Home > Decor"][i % 3],
            "price": "49.90",
            "stock": 5,
            "attributes": {"material": "copper", "capacity": "2 l"},
            "copy": {"description": f"A copper saucepan, number {i}.", "seo_title": f"Pan {i}"},
        }
        for i in range(n_products)
    ]
    product_bulk_upsert(merchant=merchant, items=items)
    products = list(merchant.products.order_by("sku"))
    texts = {
        "description": lambda p, v: DESCRIPTION.format(
            material="copper" if v == 0 else "steel", capacity="2 l", i=p.sku
        ),
        "seo_title": lambda p, v: f"Kuchen copper saucepan {p.sku[-3:]}" + (" 2 l" if v else ""),
        "ad_headline": lambda p, v: ["Kuchen copper saucepan", "Heats fast", f"Holds 2 l{v}"],
    }
    drafts = []
    for p in tqdm(products, desc="drafts", unit="product"):
        facts = p.facts()
        for kind, make in texts.items():
            for variant in (0, 1):
                text = make(p, variant)
                result = check_copy(kind, text, facts)
                drafts.append(
                    CopyDraft(
                        merchant=merchant,
                        product=p,
                        sku=p.sku,
                        kind=kind,
                        field={"ad_headline": "ad_headlines"}.get(kind, kind),
                        variant=variant,
                        text=text,
                        flags=result.flag_dicts(),
                        passed=result.passed,
                        coverage=result.coverage,
                        product_updated_at=p.updated_at,
                    )
                )
    CopyDraft.objects.bulk_create(drafts, batch_size=2000)
    return merchant, owner, products


def time_pages(client: Client, scenarios: list[tuple[str, str]], repeat: int) -> dict:
    out = {}
    for name, url in scenarios:
        times = []
        queries = 0
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            queries = len(ctx.captured_queries)
        times.sort()
        out[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "queries": queries,
        }
        print(
            f"  {name:<24} median {out[name]['median_ms']:7.1f} ms  p95 {out[name]['p95_ms']:7.1f} ms  {queries} queries"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", run_syncdb=True, verbosity=0)
    settings.DEBUG = False
    started = datetime.now(UTC)

    t0 = time.perf_counter()
    merchant, owner, products = setup(args.products)
    pending = CopyDraft.objects.filter(merchant=merchant, status="pending").count()
    print(
        f"{len(products)} products, {pending} pending drafts ({time.perf_counter() - t0:.1f} s to set up)"
    )

    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    base = f"/m/{SLUG}/content/review/"
    print("Queue page server time:")
    pages = time_pages(
        client,
        [
            ("first page", base),
            ("hard flags only", base + "?flag=hard"),
            ("kind + category", base + "?kind=description&category=Kitchen"),
            ("page 10", base + "?page=10"),
        ],
        args.repeat,
    )

    ids = list(
        CopyDraft.objects.filter(merchant=merchant, status="pending", kind="seo_title", variant=0)
        .order_by("pk")
        .values_list("pk", flat=True)[: 2 * args.decisions]
    )
    drafts = {d.pk: d for d in CopyDraft.objects.filter(pk__in=ids)}
    start = time.perf_counter()
    for pk in tqdm(ids[: args.decisions], desc="approve", unit="draft"):
        services.draft_approve(draft=drafts[pk], user=owner)
    approve_rate = args.decisions / (time.perf_counter() - start)
    start = time.perf_counter()
    rejected = ids[args.decisions : 2 * args.decisions]
    for pk in tqdm(rejected, desc="reject", unit="draft"):
        services.draft_reject(draft=drafts[pk], user=owner, reason="generic")
    reject_rate = len(rejected) / max(1e-9, time.perf_counter() - start)
    print(f"Decisions: {approve_rate:.1f} approvals/s, {reject_rate:.1f} rejections/s")

    old = "A copper saucepan, number 1. " * 4
    new = DESCRIPTION.format(material="copper", capacity="2 l", i=1)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        word_diff(old, new)
    diff_rate = n / (time.perf_counter() - start)
    print(f"Word diff: {diff_rate:.0f} description diffs/s")

    result = {
        "benchmark": "review",
        "started": started.isoformat(),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "database": connection.vendor,
            # The machine is shared: a load average far above the core count inflates every figure.
            "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        },
        "products": len(products),
        "pending_drafts": pending,
        "queue_pages": pages,
        "approvals_per_second": round(approve_rate, 1),
        "rejections_per_second": round(reject_rate, 1),
        "word_diffs_per_second": round(diff_rate),
        "command": "python benchmarks/bench_review.py " + " ".join(sys.argv[1:]),
    }
    out = ROOT / "benchmarks" / "results" / "review.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"Wrote {out}")
    Merchant.objects.filter(slug=SLUG).delete()
    get_user_model().objects.filter(username__startswith="bench-review-").delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
