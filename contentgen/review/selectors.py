"""Reads of review, always scoped by merchant: the queue, the log, the report and the approved
texts that feed brand voice and fine-tuning."""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from contentgen.models import CopyDraft
from contentgen.specs import KINDS, live_value
from merchandising.catalog.models import COPY_FIELDS, CopyRevision, LiveCopy, SegmentCopy
from merchandising.catalog.selectors import live_copy_by_scope

from .diff import segments_html, segments_stats, word_diff
from .models import RejectionReason, ReviewDecision

Status = CopyDraft.Status
Action = ReviewDecision.Action

# Age filter choices of the queue: key -> (label, newer than, older than).
AGES: dict[str, tuple[str, timedelta | None, timedelta | None]] = {
    "day": ("Last 24 hours", timedelta(days=1), None),
    "week": ("Last 7 days", timedelta(days=7), None),
    "older": ("Older than 7 days", None, timedelta(days=7)),
}


def draft_get(merchant, draft_id: int) -> CopyDraft:
    """One of the merchant's drafts (CopyDraft.DoesNotExist for another merchant's id)."""
    return CopyDraft.objects.select_related("product").get(merchant=merchant, pk=int(draft_id))


def drafts_filtered(
    merchant,
    *,
    status: str | None = Status.PENDING,
    flag: str = "",
    kind: str = "",
    field: str = "",
    category: str = "",
    age: str = "",
    stale: bool | None = None,
    sku: str = "",
    product_id: int | None = None,
    now: datetime | None = None,
) -> QuerySet[CopyDraft]:
    """The merchant's drafts with the queue's filters.

    flag: "hard" (any hard flag), "passed" (no hard flag), or a flag code such as
    "unsupported_material". category matches the category and its sub-categories.
    stale: True for drafts whose product changed after generation (or was deleted)."""
    qs = CopyDraft.objects.filter(merchant=merchant).select_related("product")
    if status:
        qs = qs.filter(status=status)
    if flag == "hard":
        qs = qs.filter(passed=False)
    elif flag == "passed":
        qs = qs.filter(passed=True)
    elif flag:
        qs = qs.filter(_has_flag(merchant, flag))
    if kind:
        qs = qs.filter(kind=kind)
    if field:
        qs = qs.filter(field=field)
    if category:
        qs = qs.filter(
            Q(product__category=category) | Q(product__category__startswith=category + " > ")
        )
    if age in AGES:
        now = now or timezone.now()
        _, newer, older = AGES[age]
        if newer:
            qs = qs.filter(created_at__gte=now - newer)
        if older:
            qs = qs.filter(created_at__lt=now - older)
    if stale is True:
        qs = qs.filter(Q(product__isnull=True) | Q(product__updated_at__gt=F("product_updated_at")))
    elif stale is False:
        qs = qs.filter(product__isnull=False).exclude(
            product__updated_at__gt=F("product_updated_at")
        )
    if sku:
        qs = qs.filter(sku=sku)
    if product_id:
        qs = qs.filter(product_id=product_id)
    return qs


def _has_flag(merchant, code: str) -> Q:
    """Drafts with a flag of this code. PostgreSQL answers JSON containment from the index;
    SQLite has no JSON `contains` lookup, so there the flags array is searched with JSON1's
    json_each (the table name comes from the model, the code is a bound parameter)."""
    if connection.features.supports_json_field_contains:
        return Q(flags__contains=[{"code": code}])
    table = CopyDraft._meta.db_table
    return Q(
        pk__in=RawSQL(
            f"SELECT d.id FROM {table} d, json_each(d.flags) f "  # noqa: S608
            "WHERE d.merchant_id = %s AND json_extract(f.value, '$.code') = %s",
            [merchant.pk, code],
        )
    )


@dataclass
class QueueDraft:
    draft: CopyDraft
    live: object
    diff_html: str
    diff: dict
    stale: bool
    hard: list[dict]
    soft: list[dict]
    next_id: int | None = None  # the draft after this one on the page (for the keyboard flow)

    @property
    def pk(self) -> int:
        return self.draft.pk

    @property
    def edit_text(self) -> str:
        """The draft as the edit box shows it: list kinds one item per line."""
        text = self.draft.text
        return "\n".join(text) if isinstance(text, list) else str(text or "")

    @property
    def coverage_percent(self) -> int:
        return round(100 * (self.draft.coverage or 0))

    @property
    def written_by(self) -> str:
        """Which adapter wrote the draft, in words."""
        return self.draft.written_by

    @property
    def rank_reason(self) -> str:
        """Why the reranker kept this variant ("Best 1 of 4 candidates: ..."), if recorded."""
        return str((self.draft.rank or {}).get("reason", ""))


def _segment_names(merchant, keys) -> dict[str, str]:
    """Segment key -> the segment's name (archived ones too), for drafts written for one."""
    from django.apps import apps

    ids = [int(k) for k in keys if k and str(k).isdigit()]
    if not ids or not apps.is_installed("recsys.segments"):
        return {}
    from recsys.segments.models import Segment

    rows = Segment.objects.filter(merchant=merchant, pk__in=ids).values_list("pk", "name")
    return {str(pk): name for pk, name in rows}


@dataclass
class QueueField:
    field: str
    segment: str
    live: object
    drafts: list[QueueDraft]
    segment_name: str = ""

    @property
    def live_text(self) -> str:
        if isinstance(self.live, list):
            return " | ".join(self.live)
        return str(self.live or "")


@dataclass
class QueueProduct:
    product: object  # catalog.Product or None when it was deleted
    sku: str
    facts: dict
    fields: list[QueueField]


def review_queue(merchant, *, limit_products: int = 20, offset: int = 0, **filters) -> dict:
    """Pending drafts grouped by product, then by field, with the live text, the word diff,
    flags and staleness. Products are ordered by their oldest pending draft (first come, first
    served). Returns {"groups": [QueueProduct], "products": total product count, "drafts": n}."""
    qs = drafts_filtered(merchant, **filters)
    total_drafts = qs.count()
    keys = list(
        qs.values("product_id", "sku")
        .annotate(first=Min("created_at"))
        .order_by("first", "sku")
        .values_list("product_id", "sku")
    )
    page_keys = keys[offset : offset + limit_products]
    product_ids = [pid for pid, _ in page_keys if pid is not None]
    skus_gone = [sku for pid, sku in page_keys if pid is None]
    drafts = list(
        qs.filter(Q(product_id__in=product_ids) | Q(product__isnull=True, sku__in=skus_gone))
        .select_related("product")
        .order_by("field", "segment", "kind", "variant", "-created_at")
    )
    live: dict[tuple[int, str], object] = {
        (c.product_id, c.field): c.value
        for c in LiveCopy.objects.filter(merchant=merchant, product_id__in=product_ids)
    }
    # A segment's draft is compared with what that segment sees now: its own copy, if any.
    segment_live: dict[tuple[int, str, str], object] = {
        (c.product_id, c.field, c.segment): c.value
        for c in SegmentCopy.objects.filter(merchant=merchant, product_id__in=product_ids)
    }
    groups: OrderedDict[tuple, QueueProduct] = OrderedDict()
    for pid, sku in page_keys:
        groups[(pid, sku)] = None  # keep queue order
    for d in drafts:
        key = (d.product_id, d.sku)
        group = groups.get(key)
        if group is None:
            group = QueueProduct(
                product=d.product,
                sku=d.sku,
                facts=d.product.facts(live_copy={}) if d.product else {},
                fields=[],
            )
            groups[key] = group
        current = live.get((d.product_id, d.field))
        if d.segment:
            current = segment_live.get((d.product_id, d.field, d.segment), current)
        target = next(
            (f for f in group.fields if f.field == d.field and f.segment == d.segment), None
        )
        if target is None:
            target = QueueField(field=d.field, segment=d.segment, live=current, drafts=[])
            group.fields.append(target)
        segments = word_diff(current, _live_form(d))
        target.drafts.append(
            QueueDraft(
                draft=d,
                live=current,
                diff_html=segments_html(segments),
                diff=segments_stats(segments),
                stale=d.is_stale,
                hard=d.hard_flags,
                soft=d.soft_flags,
            )
        )
    fields = [f for g in groups.values() if g is not None for f in g.fields]
    names = _segment_names(merchant, {f.segment for f in fields})
    for f in fields:
        f.segment_name = names.get(f.segment, "")
    ordered = [qd for g in groups.values() if g is not None for f in g.fields for qd in f.drafts]
    for current_draft, following in zip(ordered, ordered[1:], strict=False):
        current_draft.next_id = following.pk
    return {
        "groups": [g for g in groups.values() if g is not None],
        "products": len(keys),
        "drafts": total_drafts,
    }


def _live_form(draft: CopyDraft):
    """The draft as it would read once live (bullets become "- " lines)."""
    try:
        return live_value(draft.kind, draft.text)
    except (KeyError, ValueError):
        return draft.text


def queue_facets(merchant) -> dict:
    """Choices for the queue's filter drop-downs, from the pending drafts."""
    pending = CopyDraft.objects.filter(merchant=merchant, status=Status.PENDING)
    codes = _pending_flag_codes(merchant, pending)
    categories = sorted(
        {c for c in pending.values_list("product__category", flat=True).distinct() if c}
    )
    return {
        "kinds": [(k, KINDS[k].label) for k in KINDS],
        "flags": sorted(c for c in codes if c),
        "categories": categories,
        "ages": [(k, v[0]) for k, v in AGES.items()],
        "fields": list(COPY_FIELDS),
    }


def _pending_flag_codes(merchant, pending) -> set[str]:
    """Distinct flag codes of pending drafts (in SQL on PostgreSQL: no JSON decoding in Python)."""
    if connection.vendor == "postgresql":
        table = CopyDraft._meta.db_table
        with connection.cursor() as cursor:
            # The table name comes from the model's meta, never from input.
            sql = (
                f"SELECT DISTINCT flag->>'code' FROM {table}, "  # noqa: S608
                f"jsonb_array_elements({table}.flags) flag "
                f"WHERE {table}.merchant_id = %s AND {table}.status = %s"
            )
            cursor.execute(sql, [merchant.pk, Status.PENDING])
            return {row[0] for row in cursor.fetchall() if row[0]}
    codes: set[str] = set()
    for flags in pending.values_list("flags", flat=True)[:5000]:
        codes.update(f.get("code", "") for f in flags or [])
    return codes


def decisions_list(
    merchant,
    *,
    product=None,
    product_id: int | None = None,
    action: str = "",
    kind: str = "",
    since: datetime | None = None,
) -> QuerySet[ReviewDecision]:
    """The audit log, newest first."""
    qs = ReviewDecision.objects.filter(merchant=merchant).select_related("user")
    if product is not None:
        qs = qs.filter(product=product)
    if product_id:
        qs = qs.filter(product_id=product_id)
    if action:
        qs = qs.filter(action=action)
    if kind:
        qs = qs.filter(kind=kind)
    if since:
        qs = qs.filter(created_at__gte=since)
    return qs.order_by("-created_at", "-id")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


CSV_COLUMNS = [
    "when",
    "who",
    "action",
    "sku",
    "field",
    "kind",
    "segment",
    "draft_id",
    "reason",
    "note",
    "approved_anyway",
    "stale",
    "edited",
    "before",
    "after",
    "draft_text",
    "flags",
]


def decisions_csv(decisions) -> str:
    """The log as CSV (one row per decision; list values one item per line in the cell).
    Cells that a spreadsheet would run as a formula are prefixed with a quote (OWASP, "CSV
    Injection")."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for d in decisions:
        row = [
            d.created_at.isoformat(),
            d.actor,
            d.action,
            d.sku,
            d.field,
            d.kind,
            d.segment,
            d.draft_id or "",
            d.reason,
            d.note,
            "yes" if d.approved_anyway else "",
            "yes" if d.stale else "",
            "yes" if d.edited else "",
            _cell(d.before),
            _cell(d.after),
            _cell(d.draft_text),
            "; ".join(f.get("code", "") for f in d.flags or []),
        ]
        writer.writerow([_safe_cell(c) for c in row])
    return out.getvalue()


def _safe_cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rejection_report(merchant, *, since: datetime | None = None) -> dict:
    """Rejections counted per kind and reason: {"reasons": [(code, label)], "rows": [{"kind",
    "label", "counts": [n per reason], "total", "approved"}], "totals": [...]}."""
    qs = ReviewDecision.objects.filter(merchant=merchant)
    if since:
        qs = qs.filter(created_at__gte=since)
    counts = {
        (r["kind"], r["reason"]): r["n"]
        for r in qs.filter(action=Action.REJECT).values("kind", "reason").annotate(n=Count("id"))
    }
    approved = dict(
        qs.filter(action__in=[Action.APPROVE, Action.EDIT_APPROVE])
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    reasons = list(RejectionReason.choices)
    kinds = [k for k in KINDS if any(key[0] == k for key in counts) or k in approved]
    rows = []
    for kind in kinds:
        row_counts = [counts.get((kind, code), 0) for code, _ in reasons]
        rows.append(
            {
                "kind": kind,
                "label": KINDS[kind].label,
                "counts": row_counts,
                "total": sum(row_counts),
                "approved": approved.get(kind, 0),
            }
        )
    totals = [sum(r["counts"][i] for r in rows) for i in range(len(reasons))]
    return {"reasons": reasons, "rows": rows, "totals": totals, "total": sum(totals)}


def copy_history(merchant, product) -> list[dict]:
    """A product's live-copy history, newest first, each revision with the review decision
    that made it (if any): [{"revision", "decision", "is_live", "can_revert", "segment_name"}].
    A revision is live when it is what its audience gets now (the general copy, or its
    segment's own copy); `can_revert` is False where reverting would change nothing (the live
    text, a withdrawn segment copy); `segment_name` names the segment of a segment's copy."""
    revisions = list(
        CopyRevision.objects.filter(merchant=merchant, product=product).select_related("created_by")
    )
    decisions = {
        d.revision_id: d
        for d in ReviewDecision.objects.filter(
            merchant=merchant, revision_id__in=[r.pk for r in revisions]
        )
    }
    revisions.sort(key=lambda r: (r.created_at, r.pk), reverse=True)
    live = live_copy_by_scope(product)
    names = _segment_names(merchant, {r.segment for r in revisions if r.segment})
    out = []
    for r in revisions:
        current = live.get((r.field, r.segment))
        out.append(
            {
                "revision": r,
                "decision": decisions.get(r.pk),
                "is_live": current is not None and current["revision_id"] == r.pk,
                "can_revert": r.value not in ("", [], None)
                and (current is None or current["value"] != r.value),
                "segment_name": (names.get(r.segment, f"segment {r.segment}") if r.segment else ""),
            }
        )
    return out


@dataclass(frozen=True)
class ApprovedExample:
    """One approved text for fine-tuning and brand voice.

    ``facts`` are the product's facts now (``Product.facts()``) without the live copy of the
    field that was approved, so the answer never leaks into the prompt; ``text`` is in the
    kind's format (list for list kinds); ``edited`` says a reviewer changed the model's text."""

    facts: dict
    kind: str
    text: str | list[str]
    edited: bool
    sku: str
    draft_id: int | None
    decision_id: int
    approved_at: datetime
    approved_anyway: bool

    @property
    def value(self):  # the name finetuning.data.CopyRecord uses
        return self.text


def approved_examples(
    merchant,
    *,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    include_overrides: bool = False,
    latest_only: bool = True,
) -> list[ApprovedExample]:
    """Approved (and edited-then-approved) texts of products that still exist, oldest first.

    include_overrides: also texts approved despite a hard guard flag (left out by default: they
    would teach the model what the guards forbid). latest_only: one text per product, kind and
    segment (the newest approval), so a field re-approved many times does not dominate."""
    qs = (
        ReviewDecision.objects.filter(
            merchant=merchant,
            action__in=[Action.APPROVE, Action.EDIT_APPROVE],
            product__isnull=False,
        )
        .exclude(kind="")
        .select_related("product")
        .order_by("created_at", "id")
    )
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if since:
        qs = qs.filter(created_at__gte=since)
    if not include_overrides:
        qs = qs.filter(approved_anyway=False)
    decisions = list(qs)
    if latest_only:
        newest: dict[tuple, ReviewDecision] = {}
        for d in decisions:
            newest[(d.product_id, d.kind, d.segment)] = d
        decisions = sorted(newest.values(), key=lambda d: (d.created_at, d.pk))
    product_ids = {d.product_id for d in decisions}
    live: dict[int, dict] = {pid: {} for pid in product_ids}
    for c in LiveCopy.objects.filter(merchant=merchant, product_id__in=product_ids):
        live[c.product_id][c.field] = c.value
    out = []
    for d in decisions:
        copy = {f: v for f, v in live.get(d.product_id, {}).items() if f != d.field}
        out.append(
            ApprovedExample(
                facts=d.product.facts(live_copy=copy),
                kind=d.kind,
                text=d.text,
                edited=d.edited,
                sku=d.sku,
                draft_id=d.draft_id,
                decision_id=d.pk,
                approved_at=d.created_at,
                approved_anyway=d.approved_anyway,
            )
        )
    return out
