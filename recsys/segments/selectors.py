"""Reads of the segments app, always scoped by merchant."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ErasureLog, PrivacySettings, Segment, SegmentRun, VisitorProfile


def segments_list(merchant, *, include_inactive: bool = False) -> QuerySet[Segment]:
    qs = Segment.objects.filter(merchant=merchant)
    return qs if include_inactive else qs.filter(is_active=True)


def segment_get(merchant, segment_id: int) -> Segment:
    return Segment.objects.get(merchant=merchant, pk=segment_id)


def latest_run(merchant) -> SegmentRun | None:
    return SegmentRun.objects.filter(merchant=merchant).first()


def visitor_profile(merchant, visitor_id: str) -> VisitorProfile | None:
    return VisitorProfile.objects.filter(merchant=merchant, visitor_id=visitor_id).first()


def visitor_segments(merchant, visitor_id: str) -> list[Segment]:
    """The active segments a visitor belongs to (for targeting and recommender features)."""
    return list(
        Segment.objects.filter(
            merchant=merchant, is_active=True, memberships__visitor_id=visitor_id
        ).order_by("kind", "name")
    )


def segment_members(merchant, segment: Segment, limit: int = 50) -> QuerySet[VisitorProfile]:
    ids = segment.memberships.values_list("visitor_id", flat=True)
    return VisitorProfile.objects.filter(merchant=merchant, visitor_id__in=ids).order_by(
        "-revenue", "-last_seen"
    )[:limit]


def visitor_recent_events(merchant, visitor_id: str, limit: int = 30) -> list:
    from merchandising.tracking.models import Event

    return list(
        Event.objects.filter(merchant=merchant, visitor_id=visitor_id).order_by("-ts", "-id")[
            :limit
        ]
    )


def erasure_log(merchant, limit: int = 20) -> QuerySet[ErasureLog]:
    return ErasureLog.objects.filter(merchant=merchant).select_related("requested_by")[:limit]


def privacy_settings(merchant) -> PrivacySettings | None:
    return PrivacySettings.objects.filter(merchant=merchant).first()


def segment_audience(merchant, segment_id: int) -> str:
    """Who a segment is, for a copy prompt ("value-conscious kitchen & home shoppers")."""
    from .clustering import audience_phrase

    segment = segment_get(merchant, segment_id)
    if segment.kind == Segment.Kind.RULE:
        return f"visitors where {segment.card.get('rule_text') or segment.name}"
    return audience_phrase(segment.card or {})


def segment_copy_target(merchant, segment_id) -> dict:
    """Who copy written for one active segment is for: ``{"key", "name", "description",
    "categories"}``. ``key`` is what CopyDraft.segment and catalog.SegmentCopy.segment hold (the
    segment's id). Raises Segment.DoesNotExist for an unknown, archived or foreign segment."""
    try:
        pk = int(str(segment_id).strip())
    except ValueError:
        raise Segment.DoesNotExist("No such segment.") from None
    segment = Segment.objects.get(merchant=merchant, pk=pk, is_active=True)
    description = segment_audience(merchant, segment.pk)
    return {
        "key": str(segment.pk),
        "name": segment.name,
        "description": "" if description == "all shoppers" else description,
        "categories": [c[0] for c in (segment.card or {}).get("top_categories", [])[:3] if c],
    }


def visitor_segment_keys(merchant, visitor_id: str) -> list[str]:
    """The keys (see segment_copy_target) of the active segments a visitor belongs to, in the
    order that decides which segment's copy they see when several have some."""
    return [
        str(pk)
        for pk in Segment.objects.filter(
            merchant=merchant, is_active=True, memberships__visitor_id=visitor_id
        )
        .order_by("kind", "name", "pk")
        .values_list("pk", flat=True)
    ]
