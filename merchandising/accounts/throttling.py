"""Rate limits for the storefront API: per publishable key and per visitor.

They live here, beside `api_base.StorefrontAPIView` that applies them, so that accounts does not
import the storefront app (storefront calls the domain apps, never the reverse).

A publishable key sits in every page of a shop, so anyone can copy it. Two limits bound what one
copy can cost: one per key (all traffic of a shop; protects the service and the other shops) and
one per visitor (one browser hammering the API; the visitor is the `visitor_id` the widget sends,
or the client address when a request names none). Over a limit the answer is 429 with a
`Retry-After` header (RFC 6585 section 4, RFC 9110 section 10.2.3) saying when the window ends.

Counters are fixed windows in the Django cache (Redis in CI and production, so every web process
shares them; `cache.incr` is atomic there). Fixed windows let a client send up to twice the rate
across a window edge, which is acceptable for abuse protection and costs one cache round trip per
limit. When the cache is unreachable the limits fail open: the shop keeps working, and the error
is logged.

Rates come from settings (`MERCHLAB_STOREFRONT_RATE_PER_KEY`, `..._PER_VISITOR`, env of the same
name) as "N/s", "N/min" or "N/h"; an empty value switches that limit off.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "120/min" -> (120, 60); "" or None -> None (no limit). Raises ValueError on nonsense."""
    if rate is None or not str(rate).strip():
        return None
    count, _, period = str(rate).strip().partition("/")
    seconds = _PERIODS.get(period.strip().lower())
    if seconds is None or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"Rate {rate!r} is not like '120/min' (periods: s, min, h).")
    return int(count), seconds


def _hit(key: str, period: int) -> int:
    """Count one request in the cache counter `key` (created with a TTL of one window)."""
    try:
        return cache.incr(key)
    except ValueError:  # the counter does not exist yet in this window
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return cache.incr(key)


class _WindowThrottle(BaseThrottle):
    scope = ""
    setting = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def rate(self) -> tuple[int, int] | None:
        return parse_rate(getattr(settings, self.setting, None))

    def identity(self, request, view) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate = self.rate()
        if rate is None:
            return True
        ident = self.identity(request, view)
        if ident is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"throttle:storefront:{self.scope}:{ident}:{period}:{window}"
        try:
            count = _hit(key, period)
        except Exception:  # the cache is down: keep the shop working
            log.warning("storefront throttle %s: cache unavailable, not limiting", self.scope)
            return True
        if count <= limit:
            return True
        self._wait = max(1.0, (window + 1) * period - now)
        return False

    def wait(self) -> float | None:
        # DRF turns this into `Retry-After: <whole seconds>`.
        return math.ceil(self._wait) if self._wait is not None else None


class StorefrontKeyThrottle(_WindowThrottle):
    """All requests made with one publishable key."""

    scope = "key"
    setting = "MERCHLAB_STOREFRONT_RATE_PER_KEY"

    def identity(self, request, view) -> str | None:
        principal = getattr(request, "auth", None)
        return str(principal.pk) if getattr(principal, "pk", None) else None


class StorefrontVisitorThrottle(_WindowThrottle):
    """Requests of one visitor of one merchant.

    The visitor is the `visitor_id` query parameter, or the one visitor that every event of an
    events batch names (the widget's batches). Requests that name no single visitor (a shop's
    server forwarding events of many visitors) are counted per client address at the address
    rate instead. Visitor ids are chosen by the client, so the per-key limit is the hard bound.
    """

    scope = "visitor"
    setting = "MERCHLAB_STOREFRONT_RATE_PER_VISITOR"
    address_setting = "MERCHLAB_STOREFRONT_RATE_PER_ADDRESS"

    def __init__(self) -> None:
        super().__init__()
        self._by_address = False

    def rate(self) -> tuple[int, int] | None:
        setting = self.address_setting if self._by_address else self.setting
        return parse_rate(getattr(settings, setting, None))

    def identity(self, request, view) -> str | None:
        merchant = getattr(request, "merchant", None)
        if merchant is None:
            return None
        visitor = request.query_params.get("visitor_id", "").strip() or _batch_visitor(request)
        if visitor:
            return f"{merchant.pk}:v:{visitor[:200]}"
        return f"{merchant.pk}:ip:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        merchant = getattr(request, "merchant", None)
        self._by_address = merchant is not None and not (
            request.query_params.get("visitor_id", "").strip() or _batch_visitor(request)
        )
        return super().allow_request(request, view)


def _batch_visitor(request) -> str | None:
    """The single visitor id named by every event of a JSON events batch, else None."""
    if request.method != "POST" or request.content_type.split(";")[0] != "application/json":
        return None
    data = request.data  # a body that does not parse is a 400 with the reason, here or later
    events = data.get("events") if isinstance(data, dict) else data
    if isinstance(data, dict) and isinstance(data.get("visitor_id"), str) and events is None:
        return data["visitor_id"].strip() or None
    if not isinstance(events, list) or not events:
        return None
    # Only strings count: a malformed id (an object, a list) is refused later by validation.
    ids = {
        e.get("visitor_id")
        if isinstance(e, dict) and isinstance(e.get("visitor_id"), str)
        else None
        for e in events
    }
    if len(ids) != 1 or None in ids:
        return None
    return ids.pop().strip() or None
