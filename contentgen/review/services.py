"""Every write of review: decisions on drafts, bulk decisions and recorded reverts.

A decision runs in one transaction that first locks the draft row (SELECT ... FOR UPDATE) and
checks that it is still pending, so when two reviewers act on the same draft at once the second
waits for the first, then sees the draft decided and gets :class:`DraftAlreadyDecided` (the API
answers 409). Copy becomes live only through ``catalog.services.live_copy_publish``.

Drafts written for a shopper segment (``draft.segment``) are published, through the same
``live_copy_publish``, as that segment's copy (catalog.SegmentCopy): the live copy that every
other shopper sees stays as it was, and the storefront serves the segment copy to members only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contentgen import specs
from contentgen.guards import HARD, check_copy
from contentgen.models import CopyDraft
from contentgen.selectors import brand_voice_for
from contentgen.services import brand_voice_add_example
from merchandising.catalog import services as catalog_services
from merchandising.catalog.models import CopyRevision, CopySource, LiveCopy, Product, SegmentCopy

from .models import RejectionReason, ReviewDecision

Status = CopyDraft.Status
Action = ReviewDecision.Action

MAX_NOTE = 2000
MAX_BULK = 500


class DraftAlreadyDecided(Exception):
    """Someone else decided this draft first (or it was superseded)."""

    def __init__(self, draft: CopyDraft, decision: ReviewDecision | None):
        self.draft = draft
        self.decision = decision
        if decision is not None:
            who = f"{decision.actor} {decision.get_action_display().lower()} it at {decision.created_at:%H:%M:%S}"
        else:
            who = f"it is {draft.get_status_display().lower()}"
        super().__init__(f"Draft {draft.pk} was already decided: {who}. Nothing was changed.")


def actor_name(user) -> str:
    """How a person (or an API key) appears in the log."""
    if user is None:
        return "system"
    name = getattr(user, "get_username", None)
    if callable(name):
        return name()
    key = getattr(user, "api_key", None)  # ApiKeyPrincipal
    if key is not None:
        return f"API key {key.name} ({key.prefix}...)"
    return str(user)[:200]


def _db_user(user):
    """The auth user to store, or None for API keys and anonymous callers."""
    return user if getattr(user, "pk", None) and hasattr(user, "get_username") else None


def _lock_pending(draft: CopyDraft) -> CopyDraft:
    locked = (
        CopyDraft.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk=draft.pk, merchant_id=draft.merchant_id)
        .first()
    )
    if locked is None:
        raise ValidationError("This draft no longer exists.")
    if locked.status != Status.PENDING:
        last = ReviewDecision.objects.filter(draft=locked).order_by("-created_at", "-id").first()
        raise DraftAlreadyDecided(locked, last)
    return locked


def _product_for_publish(draft: CopyDraft) -> Product:
    if draft.product_id is None:
        raise ValidationError(
            f"The product {draft.sku} was deleted after this draft was written; it cannot be approved."
        )
    product = Product.objects.filter(pk=draft.product_id).first()
    if product is None:
        raise ValidationError(
            f"The product {draft.sku} was deleted after this draft was written; it cannot be approved."
        )
    if product.status == Product.Status.ARCHIVED:
        raise ValidationError(
            f"Product {product.sku} is archived; restore it before approving copy for it."
        )
    return product


def _clean_text(kind: str, text) -> str | list[str]:
    """An edited text in the kind's format: lists for list kinds (one item per line when given as
    one text), one string otherwise."""
    spec = specs.get_spec(kind)
    if spec.is_list:
        if isinstance(text, str):
            text = text.replace("\r", "").split("\n")
        if not isinstance(text, list | tuple) or not all(isinstance(t, str) for t in text):
            raise ValidationError({"text": "Give a list of texts (or one per line)."})
        items = [t.strip().removeprefix("- ").strip() for t in text]
        return [t for t in items if t]
    if isinstance(text, list | tuple):
        text = " ".join(str(t) for t in text)
    if not isinstance(text, str):
        raise ValidationError({"text": "Give the text."})
    return text.strip()


def _hard_messages(flags: list[dict]) -> list[str]:
    return [f.get("message", f.get("code", "")) for f in flags if f.get("severity") == HARD]


def _check_hard(flags: list[dict], *, approve_anyway: bool, note: str) -> bool:
    """Whether this approval overrides hard flags; refuses when it does so without a note."""
    hard = _hard_messages(flags)
    if not hard:
        return False
    if not approve_anyway:
        raise ValidationError(
            {
                "approve_anyway": "A guard flagged this text: "
                + " ".join(hard)
                + " Choose 'approve anyway' and say why in the note to publish it."
            }
        )
    if not note.strip():
        raise ValidationError({"note": "Approving a flagged text needs a note saying why."})
    return True


def _current_live(product: Product, field_name: str, segment: str = ""):
    """The value shoppers see now: the general live copy, or the segment's copy for a segment."""
    if segment:
        live = SegmentCopy.objects.filter(
            product=product, field=field_name, segment=segment
        ).first()
    else:
        live = LiveCopy.objects.filter(product=product, field=field_name).first()
    return live.value if live else None


def _approve(
    *,
    draft: CopyDraft,
    user,
    text,
    edited: bool,
    flags: list[dict],
    note: str,
    approve_anyway: bool,
) -> ReviewDecision:
    """The common part of approve and edit-approve; the draft is locked and pending."""
    note = (note or "").strip()[:MAX_NOTE]
    product = _product_for_publish(draft)
    overrode = _check_hard(flags, approve_anyway=approve_anyway, note=note)
    stale = bool(draft.product_updated_at and product.updated_at > draft.product_updated_at)
    value = specs.live_value(draft.kind, text)
    before = _current_live(product, draft.field, draft.segment)
    revision: CopyRevision | None = None
    cleaned = catalog_services.copy_value_clean(draft.field, value)
    if cleaned != before:
        revision = catalog_services.live_copy_publish(
            product=product,
            field=draft.field,
            value=cleaned,
            source=CopySource.EDITED if edited else CopySource.GENERATED,
            user=_db_user(user),
            note=f"Approved draft {draft.pk}" + (f": {note}" if note else ""),
            segment=draft.segment,
        )
    after = cleaned
    now = timezone.now()
    CopyDraft.objects.filter(pk=draft.pk).update(status=Status.APPROVED, updated_at=now)
    draft.status = Status.APPROVED
    # The other variants of the same field are answered by this approval.
    CopyDraft.objects.filter(
        merchant_id=draft.merchant_id,
        product_id=draft.product_id,
        field=draft.field,
        segment=draft.segment,
        status=Status.PENDING,
    ).exclude(pk=draft.pk).update(status=Status.SUPERSEDED, updated_at=now)
    decision = ReviewDecision(
        merchant_id=draft.merchant_id,
        draft=draft,
        product=product,
        sku=product.sku,
        kind=draft.kind,
        field=draft.field,
        segment=draft.segment,
        action=Action.EDIT_APPROVE if edited else Action.APPROVE,
        note=note,
        draft_text=draft.text,
        text=text,
        before=before,
        after=after,
        edited=edited,
        flags=flags,
        approved_anyway=overrode,
        stale=stale,
        revision=revision,
        user=_db_user(user),
        actor=actor_name(user),
    )
    decision.full_clean(exclude=["draft", "product", "revision", "user"])
    decision.save()
    if not _hard_messages(flags) and not draft.segment:
        # Clean approved copy teaches the generator the merchant's voice (texts a guard
        # flagged are left out, so an override never becomes an example to imitate; copy for
        # one segment is left out too, or every prompt would start writing for that segment).
        brand_voice_add_example(
            merchant=draft.merchant,
            kind=draft.kind,
            text=text,
            source="approved",
            category=product.category,
            sku=product.sku,
        )
    return decision


def draft_approve(
    *, draft: CopyDraft, user, note: str = "", approve_anyway: bool = False
) -> ReviewDecision:
    """Approve a pending draft as written: it becomes the product's live copy for its field.

    Raises DraftAlreadyDecided when someone decided it first, ValidationError when the product
    is archived or deleted, or when a hard guard flagged it and approve_anyway (with a note) is
    not given."""
    with transaction.atomic():
        locked = _lock_pending(draft)
        return _approve(
            draft=locked,
            user=user,
            text=locked.text,
            edited=False,
            flags=list(locked.flags or []),
            note=note,
            approve_anyway=approve_anyway,
        )


def draft_edit_approve(
    *, draft: CopyDraft, user, text, note: str = "", approve_anyway: bool = False
) -> ReviewDecision:
    """Approve a draft with the reviewer's edited text. The guards run again on the edit (with
    the product's current facts and the brand voice), and the decision records both texts."""
    with transaction.atomic():
        locked = _lock_pending(draft)
        product = _product_for_publish(locked)
        cleaned = _clean_text(locked.kind, text)
        if not cleaned:
            raise ValidationError({"text": "The edited text is empty."})
        voice = brand_voice_for(locked.merchant).as_prompt_voice()
        result = check_copy(locked.kind, cleaned, product.facts(), voice)
        flags = result.flag_dicts()
        edited = cleaned != locked.text
        return _approve(
            draft=locked,
            user=user,
            text=cleaned,
            edited=edited,
            flags=flags,
            note=note,
            approve_anyway=approve_anyway,
        )


def draft_reject(*, draft: CopyDraft, user, reason: str, note: str = "") -> ReviewDecision:
    """Reject a pending draft with a reason from RejectionReason and optional free text
    ("other" needs the free text)."""
    note = (note or "").strip()[:MAX_NOTE]
    if reason not in RejectionReason.values:
        raise ValidationError({"reason": f"Choose a reason: {', '.join(RejectionReason.values)}."})
    if reason == RejectionReason.OTHER and not note:
        raise ValidationError({"note": "Say why when the reason is 'other'."})
    with transaction.atomic():
        locked = _lock_pending(draft)
        CopyDraft.objects.filter(pk=locked.pk).update(
            status=Status.REJECTED, updated_at=timezone.now()
        )
        locked.status = Status.REJECTED
        before = (
            _current_live(locked.product, locked.field, locked.segment)
            if locked.product_id
            else None
        )
        decision = ReviewDecision(
            merchant_id=locked.merchant_id,
            draft=locked,
            product_id=locked.product_id,
            sku=locked.sku,
            kind=locked.kind,
            field=locked.field,
            segment=locked.segment,
            action=Action.REJECT,
            reason=reason,
            note=note,
            draft_text=locked.text,
            before=before,
            after=before,
            flags=list(locked.flags or []),
            user=_db_user(user),
            actor=actor_name(user),
        )
        decision.full_clean(exclude=["draft", "product", "revision", "user"])
        decision.save()
        return decision


@dataclass
class BulkResult:
    """What a bulk decision did: decisions made, and per draft id why the others were skipped."""

    decided: list[ReviewDecision] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)

    def summary(self, verb: str) -> str:
        text = f"{verb} {len(self.decided)} draft{'s' if len(self.decided) != 1 else ''}."
        if self.skipped:
            text += f" {len(self.skipped)} skipped: " + " ".join(
                f"#{pk}: {why}" for pk, why in list(self.skipped.items())[:5]
            )
        return text


def _bulk(merchant, draft_ids, one) -> BulkResult:
    ids = list(dict.fromkeys(int(i) for i in draft_ids))
    if not ids:
        raise ValidationError({"draft_ids": "Choose at least one draft."})
    if len(ids) > MAX_BULK:
        raise ValidationError({"draft_ids": f"At most {MAX_BULK} drafts at once."})
    drafts = {d.pk: d for d in CopyDraft.objects.filter(merchant=merchant, pk__in=ids)}
    result = BulkResult()
    for pk in ids:
        draft = drafts.get(pk)
        if draft is None:
            result.skipped[pk] = "not found"
            continue
        try:
            result.decided.append(one(draft))
        except DraftAlreadyDecided as exc:
            result.skipped[pk] = str(exc)
        except ValidationError as exc:
            result.skipped[pk] = " ".join(exc.messages)
    return result


def drafts_bulk_approve(*, merchant, draft_ids, user) -> BulkResult:
    """Approve many drafts, each in its own transaction. Drafts a hard guard flagged, drafts of
    archived or deleted products and drafts already decided are skipped with the reason; when
    several variants of one field are chosen, the first approved wins and the rest are skipped."""
    return _bulk(merchant, draft_ids, lambda d: draft_approve(draft=d, user=user))


def drafts_bulk_reject(*, merchant, draft_ids, user, reason: str, note: str = "") -> BulkResult:
    """Reject many drafts with one reason, each in its own transaction."""
    if reason not in RejectionReason.values:
        raise ValidationError({"reason": f"Choose a reason: {', '.join(RejectionReason.values)}."})
    return _bulk(
        merchant, draft_ids, lambda d: draft_reject(draft=d, user=user, reason=reason, note=note)
    )


def _experiment_key(draft: CopyDraft) -> str:
    sku = re.sub(r"[^a-z0-9]+", "-", draft.sku.lower()).strip("-") or "product"
    return f"copy-{sku[:30]}-{draft.field.replace('_', '-')}-{draft.pk}"[:60]


def draft_approve_as_experiment(
    *,
    draft: CopyDraft,
    user,
    key: str = "",
    name: str = "",
    note: str = "",
    approve_anyway: bool = False,
) -> ReviewDecision:
    """Approve a draft as the challenger of an A/B test instead of publishing it: a copy
    experiment (status draft, not started) on the draft's product and field, with the live copy
    as control A and the draft as variant B. Shipping the winner later publishes through
    live_copy_publish. The other variants of the field stay pending. A draft written for a
    shopper segment makes a segment experiment: the general copy against the draft, among that
    segment's members only; its winner becomes the segment's copy."""
    from merchandising.experiments.services import experiment_create

    note = (note or "").strip()[:MAX_NOTE]
    with transaction.atomic():
        locked = _lock_pending(draft)
        product = _product_for_publish(locked)
        flags = list(locked.flags or [])
        overrode = _check_hard(flags, approve_anyway=approve_anyway, note=note)
        value = catalog_services.copy_value_clean(
            locked.field, specs.live_value(locked.kind, locked.text)
        )
        key = (key or "").strip() or _experiment_key(locked)
        experiment = experiment_create(
            merchant=locked.merchant,
            key=key,
            name=(name or "").strip()[:200]
            or f"{product.sku} {locked.field}: live copy vs draft {locked.pk}",
            kind="copy",
            field=locked.field,
            segment=locked.segment,
            products=[product],
            hypothesis=note,
            variants=[
                {"name": "A (live copy)", "weight": 0.5, "is_control": True, "payload": {}},
                {
                    "name": f"B (draft {locked.pk})",
                    "weight": 0.5,
                    "payload": {
                        "copy": {str(product.pk): value},
                        "drafts": {str(product.pk): locked.pk},
                    },
                },
            ],
            user=_db_user(user),
        )
        CopyDraft.objects.filter(pk=locked.pk).update(
            status=Status.APPROVED, updated_at=timezone.now()
        )
        locked.status = Status.APPROVED
        return experiment_decision_record(
            draft=locked,
            product=product,
            experiment=experiment,
            note=note,
            flags=flags,
            overrode=overrode,
            user=user,
        )


def experiment_decision_record(
    *, draft: CopyDraft, product: Product, experiment, note: str, flags: list, overrode: bool, user
) -> ReviewDecision:
    """Log that a draft became an arm of an experiment (live copy unchanged: before == after)."""
    before = _current_live(product, draft.field)
    decision = ReviewDecision(
        merchant_id=draft.merchant_id,
        draft=draft,
        product=product,
        sku=product.sku,
        kind=draft.kind,
        field=draft.field,
        segment=draft.segment,
        action=Action.EXPERIMENT,
        note=note or f"Experiment {experiment.key}",
        draft_text=draft.text,
        text=draft.text,
        before=before,
        after=before,
        flags=flags,
        approved_anyway=overrode,
        stale=draft.is_stale,
        experiment=experiment,
        user=_db_user(user),
        actor=actor_name(user),
    )
    decision.full_clean(exclude=["draft", "product", "revision", "user", "experiment"])
    decision.save()
    return decision


def copy_revert(*, product: Product, revision_id: int, user, note: str = "") -> ReviewDecision:
    """Publish an earlier value of a live field again (catalog.services.live_copy_revert) and
    record the revert in the review log."""
    with transaction.atomic():
        old = CopyRevision.objects.get(product=product, pk=revision_id)
        before = _current_live(product, old.field, old.segment)
        if old.value == before:
            raise ValidationError("That version is already the live text.")
        revision = catalog_services.live_copy_revert(
            product=product, revision_id=revision_id, user=_db_user(user)
        )
        decision = ReviewDecision(
            merchant_id=product.merchant_id,
            product=product,
            sku=product.sku,
            field=old.field,
            segment=old.segment,
            action=Action.REVERT,
            note=(note or "").strip()[:MAX_NOTE]
            or f"Reverted to the version of {old.created_at:%Y-%m-%d %H:%M}",
            before=before,
            after=revision.value,
            text=revision.value,
            revision=revision,
            user=_db_user(user),
            actor=actor_name(user),
        )
        decision.full_clean(exclude=["draft", "product", "revision", "user"])
        decision.save()
        return decision
