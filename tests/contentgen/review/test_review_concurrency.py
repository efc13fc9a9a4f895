"""Two reviewers acting on the same draft at the same moment, on real PostgreSQL connections:
exactly one decision wins, the other is told, and the copy is published once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from contentgen.review import services
from contentgen.review.models import ReviewDecision
from merchandising.catalog.models import CopyRevision
from tests.contentgen.review.drafts import GOOD_SEO_TITLE, make_draft

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    """Run the calls in threads (each with its own database connection) released together."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("second", ["approve", "reject", "edit"])
def test_two_reviewers_one_wins(shop, products, second):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    other_calls = {
        "approve": lambda: services.draft_approve(draft=draft, user=shop.owner),
        "reject": lambda: services.draft_reject(draft=draft, user=shop.owner, reason="generic"),
        "edit": lambda: services.draft_edit_approve(
            draft=draft, user=shop.owner, text="Kuchen copper saucepan, 2 l"
        ),
    }
    outcomes = race(
        [lambda: services.draft_approve(draft=draft, user=shop.reviewer), other_calls[second]]
    )

    wins = [o for o in outcomes if o[0] == "ok"]
    losses = [o for o in outcomes if o[0] == "error"]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0][1], services.DraftAlreadyDecided)
    assert "already decided" in str(losses[0][1])
    assert ReviewDecision.objects.filter(draft=draft).count() == 1
    published = CopyRevision.objects.filter(product=products[0], field="seo_title").count()
    assert published == (0 if wins[0][1].action == "reject" else 1)


def test_many_reviewers_bulk_approving_the_same_drafts_publish_each_once(shop, products):
    drafts = [make_draft(p, "seo_title", GOOD_SEO_TITLE) for p in products]
    ids = [d.pk for d in drafts]
    outcomes = race(
        [
            lambda: services.drafts_bulk_approve(
                merchant=shop.merchant, draft_ids=ids, user=shop.reviewer
            ),
            lambda: services.drafts_bulk_approve(
                merchant=shop.merchant, draft_ids=list(reversed(ids)), user=shop.owner
            ),
        ]
    )
    assert all(o[0] == "ok" for o in outcomes), outcomes
    decided = sum(len(o[1].decided) for o in outcomes)
    skipped = sum(len(o[1].skipped) for o in outcomes)
    assert (decided, skipped) == (3, 3)
    assert ReviewDecision.objects.count() == 3
    assert CopyRevision.objects.filter(field="seo_title").count() == 3
