"""Review decisions: what approve, edit, reject and revert do to live copy, drafts and the log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from contentgen.models import BrandVoice, CopyDraft
from contentgen.review import selectors, services
from contentgen.review.models import ReviewDecision
from merchandising.catalog.models import CopyRevision, LiveCopy, Product
from tests.contentgen.review.drafts import (
    GOOD_DESCRIPTION,
    GOOD_HEADLINES,
    GOOD_SEO_TITLE,
    make_draft,
)

pytestmark = pytest.mark.django_db


def live(product, field):
    row = LiveCopy.objects.filter(product=product, field=field).first()
    return row.value if row else None


def test_approve_publishes_the_draft_and_logs_who_and_what(shop, products):
    product = products[0]
    draft = make_draft(product, "description", GOOD_DESCRIPTION)
    before = live(product, "description")

    decision = services.draft_approve(draft=draft, user=shop.reviewer)

    assert live(product, "description") == GOOD_DESCRIPTION
    draft.refresh_from_db()
    assert draft.status == CopyDraft.Status.APPROVED
    assert decision.action == "approve"
    assert decision.actor == shop.reviewer.username
    assert decision.before == before and decision.after == GOOD_DESCRIPTION
    assert decision.revision.source == "generated"
    # the previous text stays in the history
    assert CopyRevision.objects.filter(product=product, field="description", value=before).exists()


def test_list_fields_publish_as_lists_and_bullets_as_description_lines(shop, products):
    headlines = make_draft(products[0], "ad_headline", GOOD_HEADLINES)
    bullets = make_draft(products[1], "bullets", ["Copper body", "Holds 2 l", "Made by Kuchen"])

    services.draft_approve(draft=headlines, user=shop.reviewer)
    services.draft_approve(draft=bullets, user=shop.reviewer)

    assert live(products[0], "ad_headlines") == GOOD_HEADLINES
    assert live(products[1], "description") == "- Copper body\n- Holds 2 l\n- Made by Kuchen"


def test_approving_one_variant_supersedes_the_other_variants_of_that_field(shop, products):
    first = make_draft(products[0], "seo_title", GOOD_SEO_TITLE, variant=0)
    second = make_draft(products[0], "seo_title", "Kuchen copper saucepan, 2 l", variant=1)
    other_field = make_draft(products[0], "description", GOOD_DESCRIPTION)

    services.draft_approve(draft=first, user=shop.reviewer)

    second.refresh_from_db()
    other_field.refresh_from_db()
    assert second.status == CopyDraft.Status.SUPERSEDED
    assert other_field.status == CopyDraft.Status.PENDING
    with pytest.raises(services.DraftAlreadyDecided, match="already decided"):
        services.draft_approve(draft=second, user=shop.owner)


def test_a_decided_draft_cannot_be_decided_again(shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    services.draft_reject(draft=draft, user=shop.reviewer, reason="generic")
    with pytest.raises(services.DraftAlreadyDecided) as exc:
        services.draft_approve(draft=draft, user=shop.owner)
    assert shop.reviewer.username in str(exc.value)
    assert live(products[0], "seo_title") is None
    assert ReviewDecision.objects.filter(draft=draft).count() == 1


def test_hard_flag_needs_approve_anyway_with_a_note(shop, products):
    product = products[0]
    draft = make_draft(product, "seo_title", "Steel saucepan by Kuchen, 3 l")
    assert not draft.passed

    with pytest.raises(ValidationError, match="approve anyway"):
        services.draft_approve(draft=draft, user=shop.reviewer)
    with pytest.raises(ValidationError, match="needs a note"):
        services.draft_approve(draft=draft, user=shop.reviewer, approve_anyway=True)
    assert live(product, "seo_title") is None

    decision = services.draft_approve(
        draft=draft, user=shop.reviewer, approve_anyway=True, note="The new batch is steel."
    )
    assert decision.approved_anyway and decision.note == "The new batch is steel."
    assert live(product, "seo_title") == "Steel saucepan by Kuchen, 3 l"
    # an override never becomes a brand-voice example to imitate
    voice = BrandVoice.objects.filter(merchant=shop.merchant).first()
    assert not voice or not any("Steel" in str(e["text"]) for e in voice.examples)


def test_edit_approve_rechecks_the_guards_and_records_the_edit(shop, products):
    product = products[0]
    draft = make_draft(product, "seo_title", GOOD_SEO_TITLE)

    with pytest.raises(ValidationError, match="steel"):
        services.draft_edit_approve(
            draft=draft, user=shop.reviewer, text="Steel saucepan by Kuchen"
        )
    draft.refresh_from_db()
    assert draft.status == CopyDraft.Status.PENDING

    decision = services.draft_edit_approve(
        draft=draft, user=shop.reviewer, text="Kuchen copper saucepan for daily cooking"
    )
    assert decision.action == "edit_approve" and decision.edited
    assert decision.draft_text == GOOD_SEO_TITLE
    assert decision.text == "Kuchen copper saucepan for daily cooking"
    assert live(product, "seo_title") == "Kuchen copper saucepan for daily cooking"
    assert decision.revision.source == "edited"


def test_edit_of_a_list_kind_takes_one_item_per_line(shop, products):
    draft = make_draft(products[0], "ad_headline", GOOD_HEADLINES)
    services.draft_edit_approve(
        draft=draft, user=shop.reviewer, text="Kuchen copper pan\n\nHeats fast\n- Holds 2 l\n"
    )
    assert live(products[0], "ad_headlines") == ["Kuchen copper pan", "Heats fast", "Holds 2 l"]


def test_edit_over_the_limit_is_refused(shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    with pytest.raises(ValidationError, match="limit"):
        services.draft_edit_approve(draft=draft, user=shop.reviewer, text="Copper " * 20)


def test_reject_needs_a_known_reason_and_other_needs_text(shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    with pytest.raises(ValidationError, match="reason"):
        services.draft_reject(draft=draft, user=shop.reviewer, reason="meh")
    with pytest.raises(ValidationError, match="other"):
        services.draft_reject(draft=draft, user=shop.reviewer, reason="other")
    decision = services.draft_reject(
        draft=draft, user=shop.reviewer, reason="off_brand", note="Too stiff for us."
    )
    draft.refresh_from_db()
    assert draft.status == CopyDraft.Status.REJECTED
    assert (decision.reason, decision.note, decision.draft_text) == (
        "off_brand",
        "Too stiff for us.",
        GOOD_SEO_TITLE,
    )
    assert live(products[0], "seo_title") is None


def test_archived_or_deleted_product_cannot_be_approved(shop, products):
    archived, deleted = products[0], products[1]
    d1 = make_draft(archived, "seo_title", GOOD_SEO_TITLE)
    d2 = make_draft(deleted, "seo_title", GOOD_SEO_TITLE)
    Product.objects.filter(pk=archived.pk).update(status="archived")
    deleted.delete()
    d2.refresh_from_db()

    with pytest.raises(ValidationError, match="archived"):
        services.draft_approve(draft=d1, user=shop.reviewer)
    with pytest.raises(ValidationError, match="deleted"):
        services.draft_approve(draft=d2, user=shop.reviewer)
    d1.refresh_from_db()
    assert d1.status == CopyDraft.Status.PENDING
    # a deleted product's draft can still be rejected, and the log keeps its SKU
    decision = services.draft_reject(draft=d2, user=shop.reviewer, reason="other", note="gone")
    assert decision.sku == d2.sku and decision.product_id is None


def test_stale_drafts_are_marked_and_filterable(shop, products):
    fresh = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    stale = make_draft(products[1], "seo_title", GOOD_SEO_TITLE)
    from merchandising.catalog.services import product_update

    product_update(product=products[1], data={"title": "Copper saucepan, new lid"})
    stale.refresh_from_db()
    assert stale.is_stale and not fresh.is_stale
    ids = set(selectors.drafts_filtered(shop.merchant, stale=True).values_list("pk", flat=True))
    assert ids == {stale.pk}
    decision = services.draft_approve(draft=stale, user=shop.reviewer)
    assert decision.stale


def test_segment_draft_is_approved_for_its_segment_only(shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE, segment="bargain-hunters")
    decision = services.draft_approve(draft=draft, user=shop.reviewer)
    draft.refresh_from_db()
    assert draft.status == "approved" and decision.segment == "bargain-hunters"
    assert live(products[0], "seo_title") is None


def test_bulk_approve_skips_flagged_and_reports_why(shop, products):
    good = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    flagged = make_draft(products[1], "seo_title", "Steel saucepan by Kuchen, 3 l")
    result = services.drafts_bulk_approve(
        merchant=shop.merchant, draft_ids=[good.pk, flagged.pk, 999999], user=shop.reviewer
    )
    assert [d.draft_id for d in result.decided] == [good.pk]
    assert set(result.skipped) == {flagged.pk, 999999}
    assert "approve anyway" in result.skipped[flagged.pk]


def test_bulk_reject_and_the_report_counts_reasons_per_kind(shop, products):
    drafts = [make_draft(p, "seo_title", GOOD_SEO_TITLE) for p in products]
    drafts.append(make_draft(products[0], "ad_headline", GOOD_HEADLINES))
    services.drafts_bulk_reject(
        merchant=shop.merchant,
        draft_ids=[d.pk for d in drafts[:2]],
        user=shop.reviewer,
        reason="generic",
    )
    services.draft_reject(draft=drafts[3], user=shop.reviewer, reason="inaccurate")
    services.draft_approve(draft=drafts[2], user=shop.reviewer)

    report = selectors.rejection_report(shop.merchant)
    reasons = [code for code, _ in report["reasons"]]
    rows = {r["kind"]: r for r in report["rows"]}
    assert rows["seo_title"]["counts"][reasons.index("generic")] == 2
    assert rows["seo_title"]["approved"] == 1
    assert rows["ad_headline"]["counts"][reasons.index("inaccurate")] == 1
    assert report["total"] == 3


def test_revert_is_published_through_the_catalog_and_logged(shop, products):
    product = products[0]
    original = live(product, "description")
    services.draft_approve(
        draft=make_draft(product, "description", GOOD_DESCRIPTION), user=shop.reviewer
    )
    old = CopyRevision.objects.get(product=product, field="description", value=original)

    decision = services.copy_revert(product=product, revision_id=old.pk, user=shop.owner)

    assert live(product, "description") == original
    assert decision.action == "revert"
    assert (decision.before, decision.after) == (GOOD_DESCRIPTION, original)
    with pytest.raises(ValidationError, match="already the live"):
        services.copy_revert(product=product, revision_id=old.pk, user=shop.owner)
    history = selectors.copy_history(shop.merchant, product)
    assert history[0]["decision"] == decision and history[0]["is_live"]
    assert [e["revision"].value for e in history if e["revision"].field == "description"] == [
        original,
        GOOD_DESCRIPTION,
        original,
    ]


def test_approved_texts_become_brand_voice_examples_and_training_rows(shop, products):
    services.draft_approve(
        draft=make_draft(products[0], "seo_title", GOOD_SEO_TITLE), user=shop.reviewer
    )
    services.draft_edit_approve(
        draft=make_draft(products[1], "ad_headline", GOOD_HEADLINES),
        user=shop.reviewer,
        text=["Kuchen copper pan", "Heats fast", "Holds 2 l"],
    )
    services.draft_reject(
        draft=make_draft(products[2], "seo_title", GOOD_SEO_TITLE),
        user=shop.reviewer,
        reason="generic",
    )

    voice = BrandVoice.objects.get(merchant=shop.merchant)
    title = next(e for e in voice.examples if e["text"] == GOOD_SEO_TITLE)
    assert title["kind"] == "seo_title" and title["source"] == "approved"
    # the product's category and SKU go with it, so generation can pick the nearest examples
    assert title["sku"] == products[0].sku and title["category"] == products[0].category

    rows = selectors.approved_examples(shop.merchant)
    assert [(r.sku, r.kind, r.edited) for r in rows] == [
        (products[0].sku, "seo_title", False),
        (products[1].sku, "ad_headline", True),
    ]
    assert rows[1].text == ["Kuchen copper pan", "Heats fast", "Holds 2 l"]
    assert rows[0].facts["attributes"]["material"] == "copper"
    # the approved answer is not in the facts the prompt is built from
    assert "seo_title" not in rows[0].facts["copy"]
    assert rows[0].facts["copy"]["description"].startswith("A copper saucepan")


def test_audit_log_csv_has_every_decision_and_defuses_formulas(shop, products):
    services.draft_reject(
        draft=make_draft(products[0], "seo_title", GOOD_SEO_TITLE),
        user=shop.reviewer,
        reason="other",
        note='=HYPERLINK("http://evil")',
    )
    services.draft_approve(
        draft=make_draft(products[1], "ad_headline", GOOD_HEADLINES), user=shop.owner
    )
    import csv
    import io

    rows = list(
        csv.DictReader(
            io.StringIO(selectors.decisions_csv(selectors.decisions_list(shop.merchant)))
        )
    )
    assert [r["action"] for r in rows] == ["approve", "reject"]
    assert rows[0]["who"] == shop.owner.username and rows[0]["after"] == "\n".join(GOOD_HEADLINES)
    assert rows[1]["note"].startswith("'=")


def test_approve_as_experiment_arm_creates_a_copy_test_and_publishes_nothing(shop, products):
    from merchandising.experiments.models import Experiment
    from merchandising.experiments.services import experiment_ship, experiment_start

    product = products[0]
    draft = make_draft(product, "description", GOOD_DESCRIPTION)
    sibling = make_draft(product, "description", GOOD_DESCRIPTION + " Enjoy.", variant=1)
    live_before = live(product, "description")

    decision = services.draft_approve_as_experiment(draft=draft, user=shop.reviewer)

    experiment = decision.experiment
    assert decision.action == "experiment" and experiment.status == Experiment.Status.DRAFT
    assert (experiment.kind, experiment.field) == ("copy", "description")
    control, challenger = experiment.variants.order_by("position")
    assert control.is_control and control.payload["copy"] == {}
    assert challenger.payload["copy"] == {str(product.pk): GOOD_DESCRIPTION}
    assert live(product, "description") == live_before  # nothing is live yet
    sibling.refresh_from_db()
    assert sibling.status == "pending"  # other variants may still be tested or approved
    assert selectors.approved_examples(shop.merchant) == []  # not a final approval
    # shipping B later publishes the draft through the one publish path
    experiment_start(experiment=experiment)
    experiment_ship(experiment=experiment, variant_name=challenger.name, user=shop.owner)
    assert live(product, "description") == GOOD_DESCRIPTION


def test_queue_filters_by_kind_category_age_and_groups_by_product(shop, products):
    from datetime import timedelta

    from django.utils import timezone

    Product.objects.filter(pk=products[2].pk).update(category="Home > Decor")
    old = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    CopyDraft.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=9))
    make_draft(products[0], "ad_headline", GOOD_HEADLINES)
    decor = make_draft(products[2], "seo_title", GOOD_SEO_TITLE)

    queue = selectors.review_queue(shop.merchant)
    assert (queue["products"], queue["drafts"]) == (2, 3)
    first = queue["groups"][0]  # the product with the oldest pending draft comes first
    assert first.sku == products[0].sku
    assert [f.field for f in first.fields] == ["ad_headlines", "seo_title"]

    def ids(**filters):
        return set(selectors.drafts_filtered(shop.merchant, **filters).values_list("pk", flat=True))

    assert ids(age="older") == {old.pk}
    assert old.pk not in ids(age="week")
    assert ids(category="Home") == {decor.pk}
    assert ids(category="Kitchen", kind="seo_title") == {old.pk}
