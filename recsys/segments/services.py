"""Every write of the segments app: profiles, found and rule segments, erasure, retention."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from merchandising.jobs.services import job_submit

from . import clustering, rules
from .models import (
    ErasureLog,
    PrivacySettings,
    Segment,
    SegmentMembership,
    SegmentRun,
    VisitorProfile,
)
from .profiles import Profile, build_profiles

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
MIN_EVENTS_TO_CLUSTER = 2  # a single page view says too little about a visitor
KEEP_NAME_OVERLAP = 0.5  # Jaccard overlap above which a new cluster is "the same" segment


def _noop(progress: int, message: str = "") -> None:
    return None


# --- profiles --------------------------------------------------------------------------------


def _events(merchant) -> list[dict]:
    from merchandising.tracking.models import Event
    from merchandising.tracking.selectors import visitor_links

    links = visitor_links(merchant)
    rows = (
        Event.objects.filter(merchant=merchant)
        .exclude(type="impression")
        .exclude(sku="")
        .order_by("ts", "id")
        .values_list("visitor_id", "sku", "ts", "type", "value", "device", "country")
    )
    return [
        {
            "visitor_id": links.get(visitor, visitor),
            "sku": sku,
            "ts": ts,
            "type": kind,
            "value": float(value) if value is not None else None,
            "device": device,
            "country": country,
        }
        for visitor, sku, ts, kind, value, device, country in rows.iterator(chunk_size=20000)
    ]


def _products(merchant) -> list[dict]:
    from merchandising.catalog.models import Product

    return list(
        Product.objects.filter(merchant=merchant).values("sku", "category", "brand", "price")
    )


def _embeddings(merchant) -> tuple[dict[str, list[float]], int | None]:
    """visitor id -> learned LightFM representation from the active model (if there is one)."""
    try:
        from recsys.selectors import active_model_artifact, active_model_version
    except ImportError:  # recommender not installed
        return {}, None
    try:
        artifact = active_model_artifact(merchant)
        version = active_model_version(merchant)
    except Exception:  # an unreadable artifact must not stop segmenting
        log.exception("could not load the active recommender for %s", merchant)
        return {}, None
    if artifact is None:
        return {}, None
    vectors = {
        user_id: artifact.user_vectors[row].astype(float).round(5).tolist()
        for user_id, row in artifact.user_index.items()
    }
    return vectors, getattr(version, "version", None)


# Rows per write transaction of a job: the embedded database (SQLite) has one writer at a time,
# so a job writes in short transactions and requests get the lock between them.
WRITE_BATCH = 2000
_PROFILE_FIELDS = [
    "first_seen",
    "last_seen",
    "last_purchase",
    "orders",
    "orders_90d",
    "revenue",
    "views",
    "clicks",
    "carts",
    "category_shares",
    "top_categories",
    "top_brands",
    "price_position",
    "price_band",
    "device",
    "country",
    "embedding",
    "model_version",
    "updated_at",
]


def profiles_rebuild(*, merchant, now=None, report: Report = _noop) -> dict[str, Profile]:
    """Rebuild every visitor profile of the merchant from its events; returns the profiles.

    Profiles are computed in memory, then upserted in batches of WRITE_BATCH rows, each its own
    short transaction, and the profiles of visitors with no events left are deleted last. While
    it runs a reader can see some profiles already rebuilt and others not yet (they are derived
    data; a run that dies half-way is completed by the next)."""
    now = now or timezone.now()
    report(5, "Reading events")
    events = _events(merchant)
    products = _products(merchant)
    report(20, f"Building profiles from {len(events):,} events")
    profiles = build_profiles(events, products, now=now)
    embeddings, model_version = _embeddings(merchant)
    rows = [
        VisitorProfile(
            merchant=merchant,
            visitor_id=p.visitor_id[:200],
            first_seen=p.first_seen,
            last_seen=p.last_seen,
            last_purchase=p.last_purchase,
            orders=p.frequency,
            orders_90d=p.orders_90d,
            revenue=Decimal(str(round(p.monetary, 2))),
            views=p.views,
            clicks=p.clicks,
            carts=p.carts,
            category_shares=p.category_shares,
            top_categories=p.top_categories,
            top_brands=p.top_brands,
            price_position=p.price_position,
            price_band=p.price_band,
            device=p.device[:32],
            country=p.country[:64],
            embedding=embeddings.get(p.visitor_id),
            model_version=model_version if p.visitor_id in embeddings else None,
            updated_at=now,
        )
        for p in profiles.values()
    ]
    for start in range(0, len(rows), WRITE_BATCH):
        with transaction.atomic():
            VisitorProfile.objects.bulk_create(
                rows[start : start + WRITE_BATCH],
                update_conflicts=True,
                unique_fields=["merchant", "visitor_id"],
                update_fields=_PROFILE_FIELDS,
            )
    kept = {row.visitor_id for row in rows}
    gone = [
        pk
        for pk, visitor in VisitorProfile.objects.filter(merchant=merchant).values_list(
            "pk", "visitor_id"
        )
        if visitor not in kept
    ]
    for start in range(0, len(gone), WRITE_BATCH):
        VisitorProfile.objects.filter(pk__in=gone[start : start + WRITE_BATCH]).delete()
    return profiles


# --- found segments --------------------------------------------------------------------------


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def segments_discover(
    *,
    merchant,
    job=None,
    report: Report = _noop,
    k_range: Sequence[int] = range(2, 9),
    seed: int = 0,
    now=None,
) -> SegmentRun:
    """Rebuild profiles, cluster the visitors, and replace the found segments.

    A new cluster that overlaps an existing found segment by more than half (Jaccard) keeps
    that segment's row, so a name the merchant gave and placements targeting it survive.
    Raises ``clustering.NotEnoughVisitors`` (with a readable message) when there are too few.

    Writes in short transactions (profiles in batches, then one per segment), never one for the
    whole run: on the embedded database a run-long transaction held the only write lock for
    minutes, and every request that wrote waited for it. Each segment changes in one piece.
    """
    now = now or timezone.now()
    profiles = profiles_rebuild(merchant=merchant, now=now, report=report)
    active = [
        p
        for p in profiles.values()
        if p.views + p.clicks + p.carts + p.purchases >= MIN_EVENTS_TO_CLUSTER
    ]
    active.sort(key=lambda p: p.visitor_id)
    report(40, f"Clustering {len(active):,} visitors")
    embeddings = {
        vid: vec
        for vid, vec in VisitorProfile.objects.filter(
            merchant=merchant, embedding__isnull=False
        ).values_list("visitor_id", "embedding")
    }
    use_embeddings = len(embeddings) >= 0.5 * max(1, len(active))
    matrix, features = clustering.feature_matrix(
        active, embeddings=embeddings if use_embeddings else None
    )
    result = clustering.cluster(matrix, k_range=k_range, seed=seed)
    report(80, f"Found {result.k} segments; describing them")
    cards = clustering.describe_segments(active, result.labels)
    run = SegmentRun.objects.create(
        merchant=merchant,
        job=job,
        visitors=len(active),
        k=result.k,
        silhouette=round(result.silhouette, 4),
        scores={str(k): v for k, v in result.scores.items()},
        criterion=f"k in {min(result.scores)}..{max(result.scores)} with the {result.criterion}",
        features=features[:200],
        model_version=(
            VisitorProfile.objects.filter(merchant=merchant, model_version__isnull=False)
            .values_list("model_version", flat=True)
            .first()
            if use_embeddings
            else None
        ),
    )
    members_of: dict[int, set[str]] = {}
    for profile, label in zip(active, result.labels, strict=True):
        members_of.setdefault(int(label), set()).add(profile.visitor_id)

    old = {
        s.pk: (s, set(s.memberships.values_list("visitor_id", flat=True)))
        for s in Segment.objects.filter(merchant=merchant, kind=Segment.Kind.FOUND, is_active=True)
    }
    kept: set[int] = set()
    for card in cards:
        members = members_of[card.label]
        match, overlap = None, 0.0
        for pk, (segment, old_members) in old.items():
            if pk in kept:
                continue
            j = _jaccard(members, old_members)
            if j > overlap:
                match, overlap = segment, j
        if match is not None and overlap > KEEP_NAME_OVERLAP:
            segment = match
            kept.add(segment.pk)
            if not segment.named_by_merchant:
                segment.name = card.name
        else:
            segment = Segment(merchant=merchant, kind=Segment.Kind.FOUND, name=card.name)
        segment.run = run
        segment.card = card.as_dict()
        segment.size = len(members)
        segment.full_clean()
        with transaction.atomic():
            if segment.pk is not None:
                segment.memberships.all().delete()
            segment.save()
            SegmentMembership.objects.bulk_create(
                [
                    SegmentMembership(merchant=merchant, segment=segment, visitor_id=v)
                    for v in sorted(members)
                ],
                batch_size=5000,
            )
    for pk, (segment, _) in old.items():
        if pk not in kept:
            with transaction.atomic():
                segment.is_active = False
                segment.save(update_fields=["is_active", "updated_at"])
                segment.memberships.all().delete()
    rule_segments_refresh(merchant=merchant, now=now)
    report(100, f"{result.k} segments from {len(active):,} visitors")
    return run


def segments_discover_submit(*, merchant, user=None):
    from .tasks import segments_discover_task

    # One discovery at a time per merchant: a second request gets the unfinished one (each run
    # rebuilds every profile and segment, so a queued second run would only repeat it).
    return job_submit(
        merchant=merchant, kind="segments", task=segments_discover_task, user=user, once_per=()
    )


def segment_rename(*, segment: Segment, name: str) -> Segment:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A segment needs a name."})
    segment.name = name[:120]
    segment.named_by_merchant = True
    segment.full_clean()
    segment.save(update_fields=["name", "named_by_merchant", "updated_at"])
    return segment


@transaction.atomic
def segments_merge(*, merchant, segment_ids: Sequence[int], name: str = "") -> Segment:
    """Merge found segments into the first one: members join it, the others are retired."""
    ids = list(dict.fromkeys(int(i) for i in segment_ids))
    segments = {
        s.pk: s
        for s in Segment.objects.select_for_update().filter(
            merchant=merchant, pk__in=ids, is_active=True, kind=Segment.Kind.FOUND
        )
    }
    if len(ids) < 2:
        raise ValidationError({"segments": "Choose at least two segments to merge."})
    if len(segments) != len(ids):
        raise Segment.DoesNotExist("No such segment.")
    target = segments[ids[0]]
    members = set(target.memberships.values_list("visitor_id", flat=True))
    for pk in ids[1:]:
        other = segments[pk]
        members |= set(other.memberships.values_list("visitor_id", flat=True))
        other.memberships.all().delete()
        other.is_active = False
        other.merged_into = target
        other.save(update_fields=["is_active", "merged_into", "updated_at"])
    target.memberships.all().delete()
    SegmentMembership.objects.bulk_create(
        [
            SegmentMembership(merchant=merchant, segment=target, visitor_id=v)
            for v in sorted(members)
        ],
        batch_size=5000,
    )
    target.size = len(members)
    target.card = _card_for(merchant, members, target.card)
    if name.strip():
        target.name = name.strip()[:120]
        target.named_by_merchant = True
    target.save()
    return target


def _card_for(merchant, members: set[str], old_card: dict | None = None) -> dict:
    """A fresh card for an arbitrary set of visitors (after a merge or for a rule segment)."""
    everyone = list(VisitorProfile.objects.filter(merchant=merchant))
    if not everyone:
        return {}
    profiles = [_as_profile(p) for p in everyone]
    labels = [1 if p.visitor_id in members else 0 for p in profiles]
    cards = {c.label: c for c in clustering.describe_segments(profiles, labels)}
    card = cards.get(1)
    return card.as_dict() if card else dict(old_card or {})


def _as_profile(p: VisitorProfile) -> Profile:
    now = timezone.now()
    return Profile(
        visitor_id=p.visitor_id,
        first_seen=p.first_seen,
        last_seen=p.last_seen,
        last_purchase=p.last_purchase,
        recency_days=p.recency_days(now),
        frequency=p.orders,
        monetary=float(p.revenue),
        views=p.views,
        clicks=p.clicks,
        carts=p.carts,
        orders_90d=p.orders_90d,
        category_shares=p.category_shares or {},
        top_categories=p.top_categories or [],
        top_brands=p.top_brands or [],
        price_position=p.price_position,
        price_band=p.price_band,
        device=p.device,
        country=p.country,
    )


# --- rule segments ---------------------------------------------------------------------------


def _rule_members(merchant, rule: dict, now) -> set[str]:
    return {
        p.visitor_id
        for p in VisitorProfile.objects.filter(merchant=merchant).iterator(chunk_size=5000)
        if rules.matches(rule, p.rule_view(now))
    }


def _fill_rule_segment(segment: Segment, now) -> int:
    members = _rule_members(segment.merchant, segment.rule, now)
    segment.memberships.all().delete()
    SegmentMembership.objects.bulk_create(
        [
            SegmentMembership(merchant=segment.merchant, segment=segment, visitor_id=v)
            for v in sorted(members)
        ],
        batch_size=5000,
    )
    segment.size = len(members)
    segment.card = _card_for(segment.merchant, members) if members else {}
    segment.card["rule_text"] = rules.describe(segment.rule)
    segment.save(update_fields=["size", "card", "updated_at"])
    return len(members)


@transaction.atomic
def rule_segment_create(*, merchant, name: str, rule: dict, now=None) -> Segment:
    """Create a segment from a rule and fill it from the current profiles. A rule that matches
    nobody is kept (it fills as visitors arrive); its ``size`` is 0 and pages say so."""
    try:
        cleaned = rules.clean_rule(rule)
    except rules.RuleError as exc:
        raise ValidationError({"rule": str(exc)}) from exc
    name = (name or "").strip() or rules.describe(cleaned)
    segment = Segment(
        merchant=merchant,
        kind=Segment.Kind.RULE,
        name=name[:120],
        rule=cleaned,
        named_by_merchant=True,
    )
    segment.full_clean()
    segment.save()
    _fill_rule_segment(segment, now or timezone.now())
    return segment


def rule_segments_refresh(*, merchant, now=None) -> dict[int, int]:
    now = now or timezone.now()
    filled = {}
    for segment in Segment.objects.filter(
        merchant=merchant, kind=Segment.Kind.RULE, is_active=True
    ):
        with transaction.atomic():  # one short transaction per segment
            filled[segment.pk] = _fill_rule_segment(segment, now)
    return filled


def segment_archive(*, segment: Segment) -> Segment:
    segment.is_active = False
    segment.save(update_fields=["is_active", "updated_at"])
    segment.memberships.all().delete()
    return segment


# --- privacy ---------------------------------------------------------------------------------


def visitor_hash(visitor_id: str) -> str:
    """Keyed hash of a visitor id for the erasure log (HMAC-SHA256 with the secret key)."""
    return hmac.new(settings.SECRET_KEY.encode(), visitor_id.encode(), hashlib.sha256).hexdigest()


def _visitor_models():
    """Every installed model with a merchant and a visitor id: all of them hold visitor data."""
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "merchant" in names and "visitor_id" in names and model is not ErasureLog:
            yield model


@transaction.atomic
def visitor_erase(*, merchant, visitor_id: str, user=None, via: str = "api") -> dict:
    """Erase everything about one visitor: events, profile, segment memberships, links between
    their anonymous and signed-in ids, and any other row keyed by the visitor (experiment
    assignments...). Logged with a keyed hash of the id. An unknown visitor is a no-op that says so.
    """
    visitor_id = (visitor_id or "").strip()
    if not visitor_id:
        raise ValidationError({"visitor_id": "Name the visitor to erase."})
    ids = {visitor_id}
    try:
        from merchandising.tracking.models import VisitorLink
    except ImportError:  # tracking not installed
        VisitorLink = None
    counts: dict[str, int] = {}
    if VisitorLink is not None:
        links = VisitorLink.objects.filter(merchant=merchant)
        ids |= set(links.filter(visitor_id=visitor_id).values_list("anonymous_id", flat=True))
        ids |= set(links.filter(anonymous_id=visitor_id).values_list("visitor_id", flat=True))
        deleted, _ = links.filter(visitor_id__in=ids).delete()
        deleted += links.filter(anonymous_id__in=ids).delete()[0]
        if deleted:
            counts[VisitorLink._meta.label] = deleted
    for model in _visitor_models():
        deleted, _ = model.objects.filter(merchant=merchant, visitor_id__in=ids).delete()
        if deleted:
            counts[model._meta.label] = counts.get(model._meta.label, 0) + deleted
    touched = Segment.objects.filter(merchant=merchant, is_active=True)
    for segment in touched:
        size = segment.memberships.count()
        if size != segment.size:
            segment.size = size
            segment.save(update_fields=["size", "updated_at"])
    found = bool(counts)
    ErasureLog.objects.create(
        merchant=merchant,
        visitor_hash=visitor_hash(visitor_id),
        requested_by=user if getattr(user, "pk", None) else None,
        via=via,
        found=found,
        counts=counts,
    )
    message = (
        f"Erased visitor {visitor_id}: "
        + ", ".join(f"{n} {label.split('.')[-1]} rows" for label, n in sorted(counts.items()))
        if found
        else f"Nothing is stored about visitor {visitor_id}; nothing to erase."
    )
    return {"visitor_id": visitor_id, "found": found, "deleted": counts, "message": message}


def privacy_settings_set(*, merchant, event_retention_days: int | None) -> PrivacySettings:
    if event_retention_days is not None and not (1 <= int(event_retention_days) <= 3650):
        raise ValidationError(
            {"event_retention_days": "Keep events between 1 and 3650 days, or empty for no limit."}
        )
    obj, _ = PrivacySettings.objects.get_or_create(merchant=merchant)
    obj.event_retention_days = event_retention_days
    obj.save()
    return obj


def events_purge_expired(*, merchant, now=None) -> int:
    """Delete raw events older than the merchant's retention period; returns rows deleted."""
    from merchandising.tracking.models import Event

    now = now or timezone.now()
    setting = PrivacySettings.objects.filter(merchant=merchant).first()
    if setting is None or not setting.event_retention_days:
        return 0
    cutoff = now - timedelta(days=setting.event_retention_days)
    deleted, _ = Event.objects.filter(merchant=merchant, ts__lt=cutoff).delete()
    return deleted
