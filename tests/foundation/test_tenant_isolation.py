"""Tenant isolation, walked over every route the app has.

The walk reads the URL resolver, so a new dashboard page or API endpoint is covered without
editing this file, as long as its URL parameters are known below. A route with a parameter this
file does not know fails `test_every_route_is_covered`: add a factory for the new object kind (an
object of the *other* merchant) to OBJECT_FACTORIES, or list a public route in PUBLIC_ROUTES.

For each merchant-scoped route, merchant A's staff (or A's keys) ask for merchant B's objects, with
B's ids in the URL, the query string and the body, by GET and by POST. The answer must be 404 (or
a refusal), B's data must not appear in it, and B's data must not change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import PASSWORD, Shop

pytestmark = pytest.mark.django_db

# Routes that belong to no merchant (sign-in, the admin for platform operators, schema and docs).
PUBLIC_PREFIXES = (
    "admin/",
    "login/",
    "logout/",
    "password-reset/",
    "reset/",
    "invitations/",
    "api/schema/",
    "api/docs/",
    "static/",
    "media/",
    "storefront-demo/",
    "widget/",
    "demo/",
    # Product feeds: Merchant Center fetches them with a secret token in the address (a
    # credential, not an object id); tests/platforms checks that a wrong token is a 404.
    "feeds/",
)
PUBLIC_ROUTES = {""}


def _product(shop: Shop):
    from merchandising.catalog.services import product_bulk_upsert

    if not shop.merchant.products.exists():
        product_bulk_upsert(
            merchant=shop.merchant,
            items=[
                {
                    "sku": f"{shop.merchant.slug.upper()}-SECRET",
                    "title": f"{shop.merchant.slug} secret product",
                    "price": "10",
                    "copy": {"description": f"{shop.merchant.slug} secret copy"},
                }
            ],
        )
    return shop.merchant.products.first()


def _job(shop: Shop):
    from merchandising.jobs.models import Job

    return Job.objects.filter(merchant=shop.merchant).first() or Job.objects.create(
        merchant=shop.merchant, kind="catalog_import", message=f"{shop.merchant.slug} job"
    )


def _revision(shop: Shop):
    return _product(shop).copy_revisions.first()


def _membership(shop: Shop):
    return shop.merchant.memberships.get(user=shop.editor)


# URL parameter -> function giving (value for the URL) for an object of the given shop.
OBJECT_FACTORIES: dict[str, Callable[[Shop], object]] = {
    "merchant_slug": lambda shop: shop.merchant.slug,
    "product_id": lambda shop: _product(shop).pk,
    "sku": lambda shop: _product(shop).sku,
    "job_id": lambda shop: _job(shop).pk,
    "revision_id": lambda shop: _revision(shop).pk,
    "membership_id": lambda shop: _membership(shop).pk,
}
# Other areas register their object kinds here (imported lazily so that this file works alone).
try:  # pragma: no cover - depends on which areas are installed
    from tests.tenant_factories import EXTRA_FACTORIES

    OBJECT_FACTORIES.update(EXTRA_FACTORIES)
except ImportError:
    pass
# ...and what of the victim's lives outside these tables (shop -> a JSON-able value).
try:  # pragma: no cover - depends on which areas are installed
    from tests.tenant_factories import EXTRA_SNAPSHOTS
except ImportError:
    EXTRA_SNAPSHOTS = []


def _walk(patterns, prefix: str = "") -> list[tuple[str, object]]:
    routes = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            routes.extend(_walk(p.url_patterns, route))
        elif isinstance(p, URLPattern):
            routes.append((route, p))
    return routes


def all_routes() -> list[str]:
    return sorted({route for route, _ in _walk(get_resolver().url_patterns)})


def route_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


def is_public(route: str) -> bool:
    return route in PUBLIC_ROUTES or route.startswith(PUBLIC_PREFIXES) or route.startswith("^")


def fill(route: str, values: dict[str, object]) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    return "/" + path.lstrip("^").rstrip("$")


def test_every_route_is_covered():
    unknown = {
        (route, param)
        for route in all_routes()
        if not is_public(route)
        for param in route_params(route)
        if param not in OBJECT_FACTORIES
    }
    assert not unknown, f"Routes with parameters the isolation walk cannot fill: {sorted(unknown)}"


def _victim_values(victim: Shop) -> dict[str, object]:
    return {
        name: factory(victim)
        for name, factory in OBJECT_FACTORIES.items()
        if _safe(factory, victim)
    }


def _safe(factory, shop) -> bool:
    try:
        factory(shop)
        return True
    except Exception:  # an area whose objects cannot be made in this build
        return False


def _snapshot(victim: Shop) -> str:
    """Everything of the victim's that a leak or a write could touch."""
    from merchandising.catalog.models import LiveCopy, Product
    from merchandising.jobs.models import Job

    products = list(Product.objects.filter(merchant=victim.merchant).order_by("pk").values())
    copy = list(
        LiveCopy.objects.filter(merchant=victim.merchant)
        .order_by("pk")
        .values("product_id", "field", "value")
    )
    jobs = list(
        Job.objects.filter(merchant=victim.merchant)
        .order_by("pk")
        .values("pk", "status", "cancel_requested")
    )
    roles = list(victim.merchant.memberships.order_by("pk").values("user_id", "role"))
    keys = list(victim.merchant.api_keys.order_by("pk").values("pk", "revoked_at"))
    extra = [snapshot(victim) for snapshot in EXTRA_SNAPSHOTS]
    return json.dumps([products, copy, jobs, roles, keys, extra], default=str, sort_keys=True)


def _leaks(body: bytes, victim_values: dict[str, object], victim: Shop) -> list[str]:
    """The victim's data that the attacker did not send: titles, copy and job messages (ids and
    SKUs the attacker put in the request may be echoed back, e.g. in an error message)."""
    text = body.decode("utf-8", "replace")
    secrets = [
        f"{victim.merchant.slug} secret product",
        f"{victim.merchant.slug} secret copy",
        f"{victim.merchant.slug} job",
    ]
    return [s for s in secrets if s in text]


def _hostile_body(values: dict[str, object]) -> dict:
    """A body that names the victim's objects in every way an endpoint might read them."""
    body = {"merchant": values["merchant_slug"], "merchant_slug": values["merchant_slug"]}
    for name, value in values.items():
        body[name] = value
        if name.endswith("_id"):
            body[name[:-3]] = value
            body[name[:-3] + "s"] = [value]
            body[name + "s"] = [value]
    body["skus"] = [values.get("sku")]
    return body


@pytest.fixture
def two_shops(shop, other_shop):
    for s in (shop, other_shop):
        for factory in OBJECT_FACTORIES.values():
            _safe(factory, s)
    return shop, other_shop


def test_dashboard_pages_never_reach_another_merchant(client, two_shops):
    attacker, victim = two_shops
    client.login(username=attacker.owner.username, password=PASSWORD)
    mine = _victim_values(attacker)
    theirs = _victim_values(victim)
    before = _snapshot(victim)
    checked = 0
    for route in all_routes():
        if is_public(route) or not route.startswith("m/"):
            continue
        params = route_params(route)
        # 1) the other merchant's slug: the whole merchant is invisible.
        url = fill(route, theirs)
        for method in ("get", "post"):
            response = getattr(client, method)(url, _hostile_body(theirs))
            assert response.status_code == 404, (
                f"{method.upper()} {url} answered {response.status_code}"
            )
        # 2) my own slug with the other merchant's object ids.
        object_params = [p for p in params if p != "merchant_slug"]
        if object_params:
            url = fill(route, {**theirs, "merchant_slug": mine["merchant_slug"]})
            for method in ("get", "post"):
                response = getattr(client, method)(url, _hostile_body(theirs))
                # 405: the page takes no such method, so it never looks the object up.
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {url} answered {response.status_code}"
                )
                assert not _leaks(response.content, theirs, victim), f"{method.upper()} {url} leaks"
        else:
            # 3) pages without ids: ids in the query and body must not reveal or change anything.
            url = fill(route, mine)
            response = client.get(
                url, {k: v for k, v in _hostile_body(theirs).items() if not isinstance(v, list)}
            )
            assert response.status_code in (200, 302, 400, 403, 404, 405), (
                f"GET {url}: {response.status_code}"
            )
            assert not _leaks(response.content, theirs, victim), (
                f"GET {url} shows another merchant's data"
            )
        checked += 1
    assert checked >= 10
    assert _snapshot(victim) == before, "a dashboard request changed another merchant's data"


def test_api_never_reaches_another_merchant(api, two_shops):
    attacker, victim = two_shops
    theirs = _victim_values(victim)
    before = _snapshot(victim)
    api.as_key(attacker.secret_key)
    checked = 0
    for route in all_routes():
        if not route.startswith("api/v1/") or route.startswith("api/v1/storefront/"):
            continue
        url = fill(route, theirs)
        has_ids = bool(route_params(route))
        for method in ("get", "post", "patch", "put", "delete"):
            response = getattr(api, method)(url, _hostile_body(theirs), format="json")
            if has_ids:
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {url} answered {response.status_code}"
                )
            else:
                assert response.status_code < 500, (
                    f"{method.upper()} {url} answered {response.status_code}"
                )
            assert not _leaks(response.content, theirs, victim), (
                f"{method.upper()} {url} shows another merchant's data"
            )
        query = {k: v for k, v in _hostile_body(theirs).items() if not isinstance(v, list)}
        response = api.get(url, query)
        assert not _leaks(response.content, theirs, victim), (
            f"GET {url}?... shows another merchant's data"
        )
        checked += 1
    assert checked >= 5
    assert _snapshot(victim) == before, "an API request changed another merchant's data"


def test_storefront_never_reaches_another_merchant(api, two_shops):
    attacker, victim = two_shops
    theirs = _victim_values(victim)
    before = _snapshot(victim)
    api.as_storefront(attacker.publishable_key)
    checked = 0
    for route in all_routes():
        if not route.startswith("api/v1/storefront/"):
            continue
        url = fill(route, theirs)
        query = {k: v for k, v in _hostile_body(theirs).items() if not isinstance(v, list)}
        query.update(visitor_id="v-1", placement="home")
        for method in ("get", "post"):
            if method == "get":
                response = api.get(url, query)
            else:
                response = api.post(url, _hostile_body(theirs), format="json")
            assert response.status_code < 500, f"{method.upper()} {url}: {response.status_code}"
            assert not _leaks(response.content, theirs, victim), (
                f"{method.upper()} {url} shows another merchant's data"
            )
            if route_params(route):
                assert response.status_code in (400, 404, 405), (
                    f"{method.upper()} {url}: {response.status_code}"
                )
        checked += 1
    assert checked >= 1
    assert _snapshot(victim) == before
