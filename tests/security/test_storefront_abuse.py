"""Storefront abuse: a publishable key is public (it sits in every page of the shop), so what it
can do is bounded: rate limits per key and per visitor (429 with Retry-After), body and batch
caps, CORS on data only for the merchant's own origins (a refusal, whose body is only its reason,
may be read from any origin), and no route that writes catalog, copy or
experiments, whatever method and body it is sent."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/storefront/events"


def product_url(sku: str) -> str:
    return f"/api/v1/storefront/products/{sku}"


@pytest.fixture
def limits(settings):
    """Small limits so that a test reaches them in a few requests."""
    settings.MERCHLAB_STOREFRONT_RATE_PER_KEY = "1000/min"
    settings.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = "1000/min"
    settings.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = "1000/min"
    return settings


def _get(api, key, path, **extra):
    api.credentials(HTTP_X_STOREFRONT_KEY=key)
    return api.get(path, **extra)


# --- rate limits ----------------------------------------------------------------------------------


def test_key_limit_answers_429_with_retry_after_and_spares_other_shops(
    api, shop, other_shop, products, limits
):
    limits.MERCHLAB_STOREFRONT_RATE_PER_KEY = "5/min"
    codes = [
        _get(
            api, shop.publishable_key, product_url(products[0].sku), data={"visitor_id": f"v{i}"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [200] * 5
    refused = _get(api, shop.publishable_key, product_url(products[0].sku))
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert "throttled" in refused.json()["detail"].lower() or "request" in refused.json()["detail"]
    # Another merchant's key has its own budget.
    other = _get(api, other_shop.publishable_key, product_url("NOPE"))
    assert other.status_code == 404


def test_visitor_limit_stops_one_visitor_and_not_the_others(api, shop, products, limits):
    limits.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = "3/min"
    url = product_url(products[0].sku)
    for _ in range(3):
        assert (
            _get(api, shop.publishable_key, url, data={"visitor_id": "greedy"}).status_code == 200
        )
    refused = _get(api, shop.publishable_key, url, data={"visitor_id": "greedy"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert _get(api, shop.publishable_key, url, data={"visitor_id": "polite"}).status_code == 200


def test_a_widget_events_batch_counts_for_its_visitor(api, shop, products, limits):
    limits.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = "2/min"
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)

    def batch(visitor, n):
        events = [
            {"event_id": f"{visitor}-{n}-{i}", "type": "view", "visitor_id": visitor}
            for i in range(3)
        ]
        return api.post(EVENTS, {"events": events}, format="json")

    assert [batch("busy", n).status_code for n in range(2)] == [200, 200]
    assert batch("busy", 2).status_code == 429
    assert batch("calm", 0).status_code == 200


def test_batches_of_many_visitors_count_per_address(api, shop, products, limits):
    limits.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = "1/min"
    limits.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = "3/min"
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    codes = []
    for n in range(4):
        events = [
            {"event_id": f"m-{n}-{i}", "type": "view", "visitor_id": f"visitor-{i}"}
            for i in range(5)
        ]
        codes.append(api.post(EVENTS, {"events": events}, format="json").status_code)
    assert codes == [200, 200, 200, 429]


def test_throttle_state_lives_in_the_shared_cache(api, shop, products, limits):
    """Counters are in the Django cache (Redis in production): clearing it lifts the limit, so
    every web process sees the same counts."""
    from django.core.cache import cache

    limits.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = "1/min"
    url = product_url(products[0].sku)
    assert _get(api, shop.publishable_key, url, data={"visitor_id": "v"}).status_code == 200
    assert _get(api, shop.publishable_key, url, data={"visitor_id": "v"}).status_code == 429
    cache.clear()
    assert _get(api, shop.publishable_key, url, data={"visitor_id": "v"}).status_code == 200


def test_rates_are_configurable_and_validated():
    from merchandising.storefront.throttling import parse_rate

    assert parse_rate("120/min") == (120, 60)
    assert parse_rate("10/s") == (10, 1)
    assert parse_rate("5000/h") == (5000, 3600)
    assert parse_rate("") is None
    for bad in ("lots/min", "5/fortnight", "0/s", "-3/s"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_default_limits_let_the_benchmark_rate_through(settings):
    """The serving benchmark sends 200 requests/s with one key; the default must allow it."""
    from merchandising.storefront.throttling import parse_rate

    count, seconds = parse_rate(settings.MERCHLAB_STOREFRONT_RATE_PER_KEY)
    assert count / seconds >= 210  # recommendations at 200/s plus events batches at 10/s


# --- body and batch caps --------------------------------------------------------------------------


def test_oversized_body_is_refused_before_it_is_read(api, shop, products, settings):
    settings.MERCHLAB_STOREFRONT_MAX_BODY_BYTES = 10_000
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    events = [
        {"event_id": f"big-{i}", "type": "view", "visitor_id": "v", "placement": "x" * 60}
        for i in range(200)
    ]
    response = api.post(EVENTS, {"events": events}, format="json")
    assert response.status_code == 413
    assert "at most 10,000" in response.json()["detail"]
    from merchandising.tracking.models import Event

    assert not Event.objects.filter(merchant=shop.merchant).exists()


def test_batch_over_500_events_is_refused_whole(api, shop, products):
    from merchandising.tracking.models import Event

    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    events = [{"event_id": f"b-{i}", "type": "view", "visitor_id": "v"} for i in range(501)]
    response = api.post(EVENTS, {"events": events}, format="json")
    assert response.status_code == 400
    assert "500" in response.json()["detail"]
    assert not Event.objects.filter(merchant=shop.merchant).exists()


def test_a_full_batch_of_500_events_fits_under_the_default_body_cap(api, shop, products):
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    events = [
        {
            "event_id": f"full-{i:06d}-{'x' * 30}",
            "type": "click",
            "visitor_id": f"visitor-{i:06d}-{'y' * 30}",
            "sku": products[i % 3].sku,
            "placement": "home",
            "request_id": "r" * 32,
            "ts": (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i in range(500)
    ]
    response = api.post(EVENTS, {"events": events}, format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 500


# --- CORS ------------------------------------------------------------------------------------------


def _refusal_readable_by(response, origin: str) -> dict:
    """The refusal carries CORS headers for `origin`, no credentials, and only its reason."""
    assert response["Access-Control-Allow-Origin"] == origin
    assert "origin" in response["Vary"].lower()
    assert "Access-Control-Allow-Credentials" not in response
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str)
    return body


def test_cors_opens_data_only_to_the_merchants_own_origins(api, shop, other_shop, products):
    url = product_url(products[0].sku)
    own = _get(api, shop.publishable_key, url, HTTP_ORIGIN="https://acme.shop.test")
    assert own.status_code == 200
    assert own["Access-Control-Allow-Origin"] == "https://acme.shop.test"

    stranger = _get(api, shop.publishable_key, url, HTTP_ORIGIN="https://evil.example")
    assert stranger.status_code == 403
    body = _refusal_readable_by(stranger, "https://evil.example")
    assert "https://evil.example is not allowed" in body["detail"]
    assert products[0].sku not in stranger.content.decode()

    # Another merchant's origin is known to the app but is not this key's shop.
    borrowed = _get(api, shop.publishable_key, url, HTTP_ORIGIN="https://globex.shop.test")
    assert borrowed.status_code == 403
    _refusal_readable_by(borrowed, "https://globex.shop.test")
    assert "acme" not in borrowed.content.decode().lower().replace("acme.shop", "")


@pytest.mark.parametrize(
    "key",
    ["pk_" + "x" * 43, "sk_" + "x" * 43, ""],
    ids=["unknown key", "secret key", "no key"],
)
def test_a_bad_key_is_refused_with_a_reason_the_page_can_read(api, shop, products, key):
    response = _get(api, key, product_url(products[0].sku), HTTP_ORIGIN="https://acme.shop.test")
    assert response.status_code in (401, 403)
    body = _refusal_readable_by(response, "https://acme.shop.test")
    assert "key" in body["detail"].lower()


def test_a_revoked_key_is_refused_with_a_reason_the_page_can_read(api, shop, products):
    from merchandising.accounts.models import ApiKey
    from merchandising.accounts.services import api_key_revoke

    key = ApiKey.objects.get(merchant=shop.merchant, kind="publishable")
    api_key_revoke(merchant=shop.merchant, key_id=key.pk)
    response = _get(
        api, shop.publishable_key, product_url(products[0].sku), HTTP_ORIGIN="https://x.test"
    )
    assert response.status_code == 401
    assert "revoked" in _refusal_readable_by(response, "https://x.test")["detail"]


def test_a_rate_limited_request_is_refused_with_a_reason_the_page_can_read(
    api, shop, products, limits
):
    limits.MERCHLAB_STOREFRONT_RATE_PER_KEY = "1/min"
    url = product_url(products[0].sku)
    origin = "https://acme.shop.test"
    assert _get(api, shop.publishable_key, url, HTTP_ORIGIN=origin).status_code == 200
    refused = _get(api, shop.publishable_key, url, HTTP_ORIGIN=origin)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    _refusal_readable_by(refused, origin)


def test_events_from_a_refused_origin_write_nothing(api, shop, products):
    from merchandising.tracking.models import Event

    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    events = [{"event_id": "e-1", "type": "view", "visitor_id": "v", "sku": products[0].sku}]
    response = api.post(
        EVENTS, {"events": events}, format="json", HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    _refusal_readable_by(response, "https://evil.example")
    assert not Event.objects.filter(merchant=shop.merchant).exists()
    # The same batch from the shop's own origin is taken.
    own = api.post(EVENTS, {"events": events}, format="json", HTTP_ORIGIN="https://acme.shop.test")
    assert own.status_code == 200 and Event.objects.filter(merchant=shop.merchant).count() == 1


def test_cors_preflight_from_any_origin_grants_no_credentials(client, shop):
    # The browser must send the real request for the page to learn why it is refused; the
    # preflight opens the key and content-type headers only, never credentials.
    for origin in ("https://evil.example", "https://acme.shop.test"):
        response = client.options(
            EVENTS,
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-storefront-key",
        )
        assert response["Access-Control-Allow-Origin"] == origin
        assert "x-storefront-key" in response["Access-Control-Allow-Headers"].lower()
        assert "Access-Control-Allow-Credentials" not in response
        assert response.content == b""


def test_merchant_api_routes_are_not_reachable_by_cors(client, shop):
    response = client.get(
        "/api/v1/products", HTTP_ORIGIN="https://acme.shop.test", HTTP_X_STOREFRONT_KEY="pk_x"
    )
    assert response.status_code in (401, 403)
    assert "Access-Control-Allow-Origin" not in response
    refused = client.get(
        "/api/v1/products",
        HTTP_ORIGIN="https://acme.shop.test",
        HTTP_AUTHORIZATION="Bearer sk_" + "x" * 43,
    )
    assert refused.status_code == 401 and "Access-Control-Allow-Origin" not in refused
    preflight = client.options(
        "/api/v1/products",
        HTTP_ORIGIN="https://acme.shop.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert "Access-Control-Allow-Origin" not in preflight


# --- storefront keys cannot write catalog, copy or experiments ------------------------------------

# Models that a storefront key must never change. Events, visitor links and exposures are what a
# storefront legitimately writes (tracking); API keys record their last-used time.
GUARDED_APPS = {
    "accounts",
    "catalog",
    "experiments",
    "storefront",
    "contentgen",
    "review",
    "recsys",
    "segments",
    "jobs",
}
UNGUARDED_MODELS = {"experiments.exposure", "experiments.variantday", "segments.visitorprofile"}
IGNORED_FIELDS = {"last_used_at"}


def guarded_snapshot() -> dict[str, str]:
    out = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in GUARDED_APPS or label in UNGUARDED_MODELS:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED_FIELDS]
        rows = list(model.objects.order_by("pk").values_list(*fields))
        out[label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def api_routes() -> list[str]:
    return sorted({r for r in _walk(get_resolver().url_patterns) if r.startswith("api/v1/")})


def fill(route: str, values: dict) -> str:
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), "1")), route)


def hostile_body(shop, sku: str) -> dict:
    return {
        "sku": sku,
        "title": "PWNED",
        "price": "0.01",
        "status": "archived",
        "copy": {"description": "PWNED"},
        "value": "PWNED",
        "field": "description",
        "name": "PWNED",
        "weights": {"control": 0, "treatment": 100},
        "storefront_origins": ["https://evil.example"],
        "role": "owner",
        "kind": "secret",
        "items": [{"sku": sku, "title": "PWNED", "price": "1"}],
        "events": [{"event_id": "write-probe", "type": "view", "visitor_id": "v", "sku": sku}],
        "anonymous_id": "a",
        "visitor_id": "v",
        "merchant": shop.merchant.pk,
    }


def test_storefront_keys_cannot_write_catalog_copy_or_experiments(api, shop, products):
    sku = products[0].sku
    values = {"sku": sku, "merchant_slug": shop.merchant.slug}
    # Let GET-time defaults (placements) exist first: they are not a storefront write.
    _get(
        api, shop.publishable_key, "/api/v1/storefront/recommendations?placement=home&visitor_id=v"
    )
    before = guarded_snapshot()
    answers = {}
    for route in api_routes():
        url = fill(route, values)
        for method in ("post", "put", "patch", "delete"):
            api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
            response = getattr(api, method)(url, hostile_body(shop, sku), format="json")
            answers[(route, method)] = response.status_code
            assert response.status_code < 500, (route, method, response.content[:300])
            if not route.startswith("api/v1/storefront/"):
                # A publishable key never opens the merchant API.
                assert response.status_code in (401, 403), (route, method, response.status_code)
    assert guarded_snapshot() == before, "a storefront key changed catalog, copy or experiments"
    # The only storefront writes that succeed are tracking: events and visitor links.
    allowed = {r for (r, m), code in answers.items() if code < 300}
    assert allowed <= {"api/v1/storefront/events", "api/v1/storefront/visitors/link"}, allowed


def test_publishable_key_as_bearer_never_opens_the_merchant_api(api, shop, products):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {shop.publishable_key}")
    for route in api_routes():
        if route.startswith("api/v1/storefront/"):
            continue
        url = fill(route, {"sku": products[0].sku, "merchant_slug": shop.merchant.slug})
        for method in ("get", "post", "patch", "delete"):
            response = getattr(api, method)(url, {}, format="json")
            assert response.status_code in (401, 403), (route, method, response.status_code)
            assert products[0].title not in response.content.decode()


def test_secret_key_is_refused_on_storefront_routes(api, shop, products):
    response = _get(api, shop.secret_key, product_url(products[0].sku))
    assert response.status_code == 401
    assert "never put a secret key" in json.loads(response.content)["detail"]
