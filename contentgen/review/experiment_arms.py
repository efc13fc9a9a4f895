"""Review writes that involve A/B tests: approving several drafts as the arms of one copy
experiment, and publishing an experiment's shipped winner as live copy.

Both go through the same decision log as every other review action (ReviewDecision), so the
audit log shows who put which text into a test and which test made it live.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contentgen.models import CopyDraft
from merchandising.catalog import services as catalog_services
from merchandising.catalog.models import CopyRevision, CopySource, Product

from .models import ReviewDecision
from .services import (
    MAX_NOTE,
    _check_hard,
    _current_live,
    _db_user,
    _product_for_publish,
    actor_name,
    experiment_decision_record,
)

Status = CopyDraft.Status
Action = ReviewDecision.Action


def drafts_approve_as_experiment(
    *,
    merchant,
    draft_ids: Sequence[int],
    user,
    key: str,
    name: str,
    hypothesis: str = "",
    note: str = "",
    approve_anyway: bool = False,
    **experiment_fields,
):
    """One copy experiment (a draft, not started) whose challenger arms are these drafts: control
    A is the live copy, each draft variant number becomes an arm (B, C, ...). Pending drafts are
    approved as experiment arms here (a decision each, nothing published); drafts approved
    earlier are taken as they are. Drafts written for one shopper segment make a segment
    experiment (their copy against the general copy, among that segment's members); drafts of
    different segments cannot share one. Rejected or superseded drafts and drafts of deleted or
    archived products are refused. Returns the experiment."""
    from merchandising.experiments.services import experiment_create_from_drafts

    note = (note or "").strip()[:MAX_NOTE]
    ids = list(dict.fromkeys(int(i) for i in draft_ids))
    if not ids:
        raise ValidationError({"drafts": "Choose at least one draft."})
    with transaction.atomic():
        drafts = list(
            CopyDraft.objects.select_for_update(of=("self",))
            .filter(merchant=merchant, pk__in=ids)
            .order_by("pk")
        )
        missing = set(ids) - {d.pk for d in drafts}
        if missing:
            raise ValidationError({"drafts": f"Unknown draft {sorted(missing)[0]}."})
        if len({d.segment for d in drafts}) > 1:
            raise ValidationError(
                {
                    "drafts": "These drafts are written for different shoppers (different "
                    "segments, or a segment and all shoppers); test each segment's drafts in "
                    "an experiment of its own."
                }
            )
        newly: list[tuple[CopyDraft, Product, bool]] = []
        for draft in drafts:
            if draft.status not in (Status.PENDING, Status.APPROVED):
                raise ValidationError(
                    {"drafts": f"Draft {draft.pk} is {draft.get_status_display().lower()}."}
                )
            product = _product_for_publish(draft)
            if draft.status == Status.PENDING:
                overrode = _check_hard(
                    list(draft.flags or []), approve_anyway=approve_anyway, note=note
                )
                newly.append((draft, product, overrode))
        now = timezone.now()
        CopyDraft.objects.filter(pk__in=[d.pk for d, _, _ in newly]).update(
            status=Status.APPROVED, updated_at=now
        )
        for draft, _, _ in newly:
            draft.status = Status.APPROVED
        experiment = experiment_create_from_drafts(
            merchant=merchant,
            key=key,
            name=name,
            drafts=drafts,
            hypothesis=hypothesis,
            user=_db_user(user),
            **experiment_fields,
        )
        for draft, product, overrode in newly:
            experiment_decision_record(
                draft=draft,
                product=product,
                experiment=experiment,
                note=note,
                flags=list(draft.flags or []),
                overrode=overrode,
                user=user,
            )
        return experiment


def experiment_copy_publish(
    *,
    experiment,
    product: Product,
    value,
    draft_id: int | None,
    user,
    note: str,
    segment: str = "",
) -> CopyRevision | None:
    """Make an experiment's shipped text the product's live copy (catalog.live_copy_publish),
    or with `segment` that segment's copy (the general copy is left as it is), and log it as
    an approval that names the experiment and, when known, the source draft.
    Returns the new revision, or None when the text was already live."""
    field = experiment.field
    value = catalog_services.copy_value_clean(field, value)
    before = _current_live(product, field, segment)
    draft = (
        CopyDraft.objects.filter(merchant_id=experiment.merchant_id, pk=draft_id).first()
        if draft_id
        else None
    )
    revision = None
    if value != before:
        revision = catalog_services.live_copy_publish(
            product=product,
            field=field,
            value=value,
            source=CopySource.GENERATED if draft else CopySource.ORIGINAL,
            user=_db_user(user),
            note=note,
            segment=segment,
        )
    decision = ReviewDecision(
        merchant_id=experiment.merchant_id,
        draft=draft,
        product=product,
        sku=product.sku,
        kind=draft.kind if draft else "",
        field=field,
        segment=segment,
        action=Action.APPROVE,
        note=note[:MAX_NOTE],
        draft_text=draft.text if draft else None,
        text=value,
        before=before,
        after=value,
        revision=revision,
        experiment=experiment,
        user=_db_user(user),
        actor=actor_name(user),
    )
    decision.full_clean(exclude=["draft", "product", "revision", "user", "experiment"])
    decision.save()
    return revision
