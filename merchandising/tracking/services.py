"""Writes of tracking data: event ingestion (API batches and CSV import) and visitor links.

``events_ingest(merchant=, events=)`` validates each event on its own (bad ones come back as
``{"index", "field", "message"}``, good ones in the same batch are kept), resolves SKUs to
products in one query, and stores the batch in one ``INSERT ... SELECT FROM unnest(...)
ON CONFLICT (merchant_id, event_id) DO NOTHING RETURNING`` statement on PostgreSQL, so a
retried event is stored once and the answer can say how many were duplicates.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from merchandising.catalog.models import Product

from .models import MAX_EVENT_ID, MAX_VISITOR_ID, Event, EventType, VisitorLink

MAX_BATCH = 500
EVENT_TYPES = frozenset(EventType.values)
MAX_FUTURE = timedelta(days=1)
# No event is older than the Unix epoch, whoever sends it; the storefront API bounds the past
# much closer (MERCHLAB_EVENT_MAX_AGE_DAYS) since a shop reports what happens now.
OLDEST = datetime(1970, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x1f]")
_LIMITS = {"sku": 64, "placement": 64, "request_id": 64, "device": 32, "country": 64}


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    unknown_skus: dict[str, int] = field(default_factory=dict)

    def as_dict(self, max_unknown: int = 20) -> dict:
        top = sorted(self.unknown_skus.items(), key=lambda kv: (-kv[1], kv[0]))[:max_unknown]
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "unknown_skus": {
                "count": sum(self.unknown_skus.values()),
                "skus": [sku for sku, _ in top],
            },
        }


class BatchTooLarge(ValueError):
    pass


def storefront_max_age() -> timedelta:
    """How far in the past an event sent to the storefront API may be dated."""
    return timedelta(days=int(getattr(settings, "MERCHLAB_EVENT_MAX_AGE_DAYS", 400)))


def _parse_ts(value, now: datetime, max_age: timedelta | None = None) -> datetime:
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("must be an ISO-8601 time or unix seconds")
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        parsed = datetime.fromtimestamp(float(value), tz=UTC)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.fromtimestamp(float(value), tz=UTC)
            except (ValueError, OverflowError):
                raise ValueError("must be an ISO-8601 time or unix seconds") from None
    else:
        raise ValueError("must be an ISO-8601 time or unix seconds")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed > now + MAX_FUTURE:
        raise ValueError("is more than a day in the future")
    if max_age is not None and parsed < now - max_age:
        raise ValueError(f"is more than {max_age.days} days in the past")
    if parsed < OLDEST:
        raise ValueError("is before 1970")
    return parsed


def event_clean(
    raw, now: datetime, max_age: timedelta | None = None
) -> tuple[dict | None, tuple[str, str] | None]:
    """One event -> (clean dict, None) or (None, (field, message)). With ``max_age``, an event
    dated further back than that is refused."""
    if not isinstance(raw, Mapping):
        return None, ("non_field_errors", "An event must be a JSON object.")
    out: dict = {}
    for name, limit in (("event_id", MAX_EVENT_ID), ("visitor_id", MAX_VISITOR_ID)):
        value = raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            return None, (name, "This field is required (a non-empty string).")
        if len(value) > limit:
            return None, (name, f"Ensure this field has no more than {limit} characters.")
        if _CONTROL.search(value):
            return None, (name, "Control characters are not allowed.")
        out[name] = value
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        return None, ("type", f"Must be one of: {', '.join(sorted(EVENT_TYPES))}.")
    out["type"] = kind
    for name, limit in _LIMITS.items():
        value = raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            return None, (name, "Must be a string.")
        if len(value) > limit:
            return None, (name, f"Ensure this field has no more than {limit} characters.")
        out[name] = value.strip()
    try:
        out["ts"] = _parse_ts(raw.get("ts"), now, max_age)
    except (ValueError, OverflowError, OSError) as exc:
        return None, ("ts", f"Invalid time: {exc}.")
    value = raw.get("value")
    if value is None or value == "":
        out["value"] = None
    else:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) >= Decimal("1e12"):
                raise InvalidOperation
            out["value"] = number.quantize(Decimal("0.01"))
        except InvalidOperation:
            return None, ("value", "Must be a number.")
    return out, None


def events_ingest(
    *,
    merchant,
    events: Sequence,
    now: datetime | None = None,
    max_age: timedelta | None = None,
) -> IngestResult:
    """Validate and store a batch (at most ``MAX_BATCH``); see the module docstring.
    ``max_age`` bounds how old an event may be (the storefront API passes
    storefront_max_age(); imports of past traffic pass None)."""
    if len(events) > MAX_BATCH:
        raise BatchTooLarge(f"A batch holds at most {MAX_BATCH} events; got {len(events)}.")
    now = now or timezone.now()
    result = IngestResult()
    clean: list[dict] = []
    for index, raw in enumerate(events):
        event, error = event_clean(raw, now, max_age)
        if error is not None:
            result.errors.append({"index": index, "field": error[0], "message": error[1]})
        else:
            clean.append(event)
    if not clean:
        return result
    skus = {e["sku"] for e in clean if e["sku"]}
    products = dict(
        Product.objects.filter(merchant=merchant, sku__in=skus).values_list("sku", "id")
    ) if skus else {}  # fmt: skip
    for event in clean:
        sku = event["sku"]
        event["product_id"] = products.get(sku) if sku else None
        if sku and event["product_id"] is None:
            result.unknown_skus[sku] = result.unknown_skus.get(sku, 0) + 1
    inserted = _insert(merchant.pk, clean, now)
    result.accepted = inserted
    result.duplicates = len(clean) - inserted
    return result


_COLUMNS = (
    ("event_id", "text"),
    ("type", "text"),
    ("visitor_id", "text"),
    ("sku", "text"),
    ("product_id", "bigint"),
    ("ts", "timestamptz"),
    ("value", "numeric"),
    ("placement", "text"),
    ("request_id", "text"),
    ("device", "text"),
    ("country", "text"),
)
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_RECORD = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
# The batch travels as one JSON parameter expanded by jsonb_to_recordset: Django's psycopg
# cursor binds on the client, and quoting eleven 500-element arrays costs more than the insert.
# Only constant table/column names are interpolated; every value is a bound parameter.
_INSERT_SQL = (
    f"INSERT INTO {Event._meta.db_table} (merchant_id, received_at, {_NAMES}) "  # noqa: S608
    f"SELECT %s, %s, {_NAMES} FROM jsonb_to_recordset(%s::jsonb) AS r({_RECORD}) "
    "ON CONFLICT (merchant_id, event_id) DO NOTHING RETURNING 1"
)


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _insert(merchant_id: int, events: list[dict], now: datetime) -> int:
    """Insert, skipping events already stored (same merchant and event_id); returns inserted."""
    if connection.vendor != "postgresql":
        return _insert_portable(merchant_id, events, now)
    payload = json.dumps(events, default=_json_default, separators=(",", ":"))
    with transaction.atomic(), connection.cursor() as cursor:
        if not getattr(settings, "MERCHLAB_EVENTS_SYNCHRONOUS_COMMIT", True):
            # Opt-in: not waiting for the WAL flush saves about half of a batch's time, but a
            # crash of the database server (not of a connection or a web process) can then lose
            # the batches of its last fraction of a second; the database stays consistent, and
            # the widget's retries with the same event ids stay safe.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_INSERT_SQL, [merchant_id, now, payload])
        return len(cursor.fetchall())


def _insert_portable(merchant_id: int, events: list[dict], now: datetime) -> int:
    with transaction.atomic():
        ids = [e["event_id"] for e in events]
        existing = set(
            Event.objects.filter(merchant_id=merchant_id, event_id__in=ids).values_list(
                "event_id", flat=True
            )
        )
        fresh: dict[str, dict] = {}
        for e in events:
            if e["event_id"] not in existing:
                fresh.setdefault(e["event_id"], e)
        Event.objects.bulk_create(
            [Event(merchant_id=merchant_id, received_at=now, **e) for e in fresh.values()],
            ignore_conflicts=True,
        )
        return len(fresh)


def events_import_rows(
    *, merchant, rows: Iterable[Mapping], batch_size: int = MAX_BATCH, progress=None
) -> IngestResult:
    """Import events from CSV rows (same fields as the API); errors carry the row index."""
    total = IngestResult()
    batch: list[Mapping] = []
    offset = 0

    def flush():
        nonlocal offset
        part = events_ingest(merchant=merchant, events=batch)
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.errors.extend({**e, "index": e["index"] + offset} for e in part.errors)
        for sku, n in part.unknown_skus.items():
            total.unknown_skus[sku] = total.unknown_skus.get(sku, 0) + n
        offset += len(batch)
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for row in rows:
        batch.append({k: (v if v != "" else None) for k, v in row.items()})
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return total


def visitor_link(*, merchant, anonymous_id: str, visitor_id: str) -> VisitorLink:
    """Record that ``anonymous_id`` is the signed-in ``visitor_id`` (idempotent, last wins)."""
    link = VisitorLink.objects.filter(merchant=merchant, anonymous_id=anonymous_id).first()
    if link is None:
        link = VisitorLink(merchant=merchant, anonymous_id=anonymous_id, visitor_id=visitor_id)
    else:
        link.visitor_id = visitor_id
        link.linked_at = timezone.now()
    link.full_clean()
    link.save()
    return link
