"""Browser-test support for dashboard pages: a shop with a real day's worth of data (trained
recommender versions, full and incremental; drafts to review; running experiments; a failed
import), and the checks every page must pass (no 5xx, no console error, no sideways scroll on
a phone, no serious or critical axe-core violation)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
GROUPS = ["Garden > Tools", "Kitchen > Pans", "Toys > Puzzles", "Books > Novels"]
START = datetime(2026, 3, 1, tzinfo=UTC)


def _send_events(merchant, visitors, per_visitor, start, prefix="e", seed=0):
    from merchandising.tracking.services import events_ingest

    rng = np.random.RandomState(seed)
    events = []
    for v in visitors:
        group = int(v.split("-")[1]) % 4
        for j in range(per_visitor):
            item = int(rng.choice(range(group, 32, 4))) if rng.rand() < 0.9 else rng.randint(32)
            events.append(
                {
                    "event_id": f"{prefix}-{v}-{j}",
                    "type": "purchase" if j % 5 == 4 else "view",
                    "visitor_id": v,
                    "sku": f"P-{item:03d}",
                    "ts": (start + timedelta(hours=j, minutes=int(v.split("-")[1]))).isoformat(),
                }
            )
    for i in range(0, len(events), 500):
        events_ingest(merchant=merchant, events=events[i : i + 500])


def _days(experiment, rates: dict[str, float], per_day: int = 400, days: int = 10):
    from merchandising.experiments.models import VariantDay

    rows = []
    for i in range(days):
        for v in experiment.variants.all():
            rows.append(
                VariantDay(
                    merchant=experiment.merchant,
                    experiment=experiment,
                    variant=v,
                    day=date(2026, 3, 1) + timedelta(days=i),
                    exposures=per_day,
                    converters=int(round(per_day * rates[v.name])),
                    add_to_cart=int(per_day * 0.2),
                    clickers=0,
                    revenue_sum=float(per_day * rates[v.name] * 40),
                    revenue_sumsq=float(per_day * rates[v.name] * 1700),
                )
            )
    VariantDay.objects.bulk_create(rows)


def stock_the_shop(shop) -> dict:
    """A merchant mid-way through its first month. Returns the objects the tests visit."""
    from merchandising.catalog.services import product_bulk_upsert, product_import_submit
    from merchandising.experiments import services as experiments
    from merchandising.storefront.services import placement_create
    from recsys import services as recsys
    from tests.contentgen.review.drafts import GOOD_SEO_TITLE, make_draft

    merchant = shop.merchant
    product_bulk_upsert(
        merchant=merchant,
        items=[
            {
                "sku": f"P-{i:03d}",
                "title": f"{GROUPS[i % 4].split(' > ')[1]} item {i}",
                "brand": f"brand-{i % 4}",
                "category": GROUPS[i % 4],
                "price": "44171.66" if i == 0 else f"{10 + i}.50",
                "stock": 3,
                "copy": {"description": f"A sturdy {GROUPS[i % 4].split(' > ')[1].lower()} item."},
            }
            for i in range(32)
        ],
    )
    products = list(merchant.products.order_by("sku"))
    _send_events(merchant, [f"v-{i}" for i in range(60)], 12, START)
    full = recsys.recommender_train(merchant=merchant)
    _send_events(merchant, ["v-100", "v-101"], 6, START + timedelta(days=5), prefix="n", seed=1)
    update = recsys.recommender_update(merchant=merchant)

    make_draft(products[1], "seo_title", GOOD_SEO_TITLE)
    make_draft(products[2], "seo_title", GOOD_SEO_TITLE)

    placement = placement_create(
        merchant=merchant, key="home-feature", name="Home feature", strategy="lightfm", limit=8
    )
    copy_test = experiments.experiment_create(
        merchant=merchant,
        key="desc-warm",
        name="Warmer descriptions",
        kind="copy",
        field="description",
        products=products[:2],
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True},
            {
                "name": "B",
                "weight": 0.5,
                "payload": {"copy": {str(products[0].pk): "A warmer, longer description."}},
            },
        ],
    )
    experiments.experiment_transition(experiment=copy_test, action="start", user=shop.owner)
    _days(copy_test, {"A": 0.10, "B": 0.04})  # B is a clear loser
    placement_test = experiments.experiment_create(
        merchant=merchant,
        key="home-pop",
        name="Best-sellers on the home page",
        kind="placement",
        placement=placement,
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True},
            {"name": "B", "weight": 0.5, "payload": {"strategy": "popularity"}},
        ],
    )
    failed_import = product_import_submit(
        merchant=merchant,
        data=b"sku,title,price\nN-1,Fine pan,12.00\nN-2,,3\nN-3,Good lid,abc\nN-4,Handle,4.50\n",
        filename="new-stock.csv",
        user=shop.owner,
    )
    failed_import.refresh_from_db()
    return {
        "products": products,
        "versions": (full, update),
        "placement": placement,
        "copy_test": copy_test,
        "placement_test": placement_test,
        "failed_import": failed_import,
    }


class PageWatch:
    """Collects what a page must not do: answer 5xx, log a console error, throw."""

    def __init__(self, page, allow_status: set[int] = frozenset()):
        self.problems: list[str] = []
        # A page that answers 404 or 403 on purpose logs "Failed to load resource" for itself.
        self.allow_status = allow_status
        page.on(
            "response",
            lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 500 else None,
        )
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not self._expected(m.text)
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def _expected(self, text: str) -> bool:
        return any(f"status of {code}" in text for code in self.allow_status)


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}));
}"""


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN)


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def check_page(page, name: str, *, phone: bool) -> list[str]:
    """Problems of the page in front of the test, each named with the page."""
    problems = []
    if phone:
        extra = sideways_overflow(page)
        if extra > 0:
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                  && e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)
                .slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id)"""
            )
            problems.append(f"{name}: scrolls sideways by {extra}px at {wide}")
    for v in axe_violations(page):
        problems.append(
            f"{name}: axe {v['impact']} {v['id']} ({v['help']}) at {json.dumps(v['nodes'])}"
        )
    return problems
