"""Rate limits: the storefront API (per publishable key and per visitor) and sign-in failures
(per account, and per account from one client address).

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

Sign-in (`SignInThrottle`): wrong passwords are counted per account from one client address
(limit 5) and per account from anywhere (limit 20, a distributed guess), for 15 minutes from the
first failure. Each attempt is counted *before* its password is checked (add, then compare the
count with the limit; `merchandising.cache.counter_hit` is atomic), so 20 concurrent guesses get
at most 5 password checks. The account is the user the name resolves to, exactly as the
authentication backend resolves it; a name of no user is counted under that name only, so
guessing unknown names never locks out a real user, and there is no limit per address across
accounts (behind a proxy or a shop's NAT every user shares one address). An address that has
signed in to the account before is not refused by the per-account limit.

The client address is `REMOTE_ADDR`, or with `MERCHLAB_TRUSTED_PROXY_COUNT` = n > 0 the n-th
address from the right of `X-Forwarded-For` (what the outermost of n trusted proxies saw);
without that setting the header is ignored, since any client can write it (`client_address`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from merchandising.cache import counter_hit

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


def client_address(request) -> str:
    """The address of the client that sent `request` (see the module's docstring).

    `X-Forwarded-For` lists the addresses each proxy received the request from, appended left to
    right; only the last `MERCHLAB_TRUSTED_PROXY_COUNT` entries were written by our own proxies,
    so the n-th from the right is the client. A header with fewer entries, or an entry that is
    not an IP address, falls back to `REMOTE_ADDR`."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.MERCHLAB_TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    if len(entries) < hops:
        return remote
    try:
        return str(ipaddress.ip_address(entries[-hops]))
    except ValueError:
        return remote


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
            count = counter_hit(key, period + 1)
        except Exception:  # the cache is down: keep the shop working
            log.warning("storefront throttle %s: cache unavailable, not limiting", self.scope)
            return True
        if count <= limit:
            return True
        self._wait = max(1.0, (window + 1) * period - now)
        return False

    def get_ident(self, request) -> str:
        # DRF's own trusts X-Forwarded-For from anyone unless NUM_PROXIES is set; use ours.
        return client_address(request)

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


SIGN_IN_LIMITS = {"account_address": 5, "account": 20}
SIGN_IN_LOCK_SECONDS = 15 * 60
SIGN_IN_KNOWN_ADDRESS_SECONDS = 90 * 24 * 3600


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SignInThrottle:
    """Counts one sign-in attempt for `username` from `request`'s client (see the module)."""

    def __init__(self, request, username: str) -> None:
        user_model = get_user_model()
        name = str(username or "")
        try:
            user = user_model._default_manager.get_by_natural_key(name)
            account = f"user:{user.pk}"
        except (user_model.DoesNotExist, ValueError):
            account = f"name:{_digest(name.casefold())}"
        address = _digest(client_address(request))
        self.keys = {
            "account_address": f"sign-in:{account}:{address}",
            "account": f"sign-in:{account}",
        }
        self.known_key = f"sign-in-known:{account}:{address}"
        self.counted: list[str] = []

    def allow(self) -> bool:
        """Count this attempt; False when it is over a limit (do not check the password then)."""
        known = bool(cache.get(self.known_key))
        allowed = True
        for kind, key in self.keys.items():
            count = counter_hit(key, SIGN_IN_LOCK_SECONDS)
            self.counted.append(key)
            if count > SIGN_IN_LIMITS[kind] and not (kind == "account" and known):
                allowed = False
        return allowed

    def succeeded(self) -> None:
        """The password was right: this attempt was no failure, and the address is known."""
        cache.delete(self.keys["account_address"])
        try:
            cache.decr(self.keys["account"])
        except ValueError:
            pass
        cache.set(self.known_key, 1, SIGN_IN_KNOWN_ADDRESS_SECONDS)
