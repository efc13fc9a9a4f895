"""Issue 17's input classes against a live server (pytest-django's live_server, a real HTTP
server thread on the test database) with `requests`: one representative request of each class,
sent as an outside client sends it. The other doors of each class are in test_input_limits.py."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from merchandising.accounts.models import ApiKey, Membership
from merchandising.catalog.models import CopyRevision
from tests.contentgen.review.drafts import make_draft

pytestmark = [pytest.mark.django_db(transaction=True)]

SURROGATE_JSON = '"\\ud800x"'  # a lone surrogate, escaped as JSON allows
DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture
def server(live_server, shop, settings):
    settings.MERCHLAB_STOREFRONT_RATE_PER_KEY = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = ""
    return live_server.url


@pytest.fixture
def merchant(server, shop):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {shop.secret_key}"
    return session


@pytest.fixture
def storefront(server, shop):
    session = requests.Session()
    session.headers["X-Storefront-Key"] = shop.publishable_key
    return session


def raw(session, method, url, body: str):
    return session.request(
        method, url, data=body.encode(), headers={"Content-Type": "application/json"}, timeout=30
    )


def named_400(response, field: str) -> dict:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert field in body["errors"], body
    return body


def signed_in(server, user) -> requests.Session:
    client = Client()
    client.force_login(user)
    session = requests.Session()
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    session.cookies.set(cookie.key, cookie.value)
    return session


def test_lone_surrogate_is_a_400_and_breaks_nothing_after(server, merchant, storefront, products):
    body = '{"sku": "S-1", "title": "t", "price": "1", "attributes": {' + SURROGATE_JSON + ': "v"}}'
    response = raw(merchant, "POST", f"{server}/api/v1/products", body)
    assert "surrogate" in named_400(response, "attributes")["detail"]
    for path in ("/api/v1/products", "/api/v1/products/export.csv", "/api/v1/products/SKU-0000"):
        assert merchant.get(server + path, timeout=30).status_code == 200
    events = '{"events": [{"event_id": "e", "type": "view", "visitor_id": ' + SURROGATE_JSON + "}]}"
    named_400(raw(storefront, "POST", f"{server}/api/v1/storefront/events", events), "events")


def test_deep_json_is_a_400(server, merchant, storefront):
    response = raw(storefront, "POST", f"{server}/api/v1/storefront/events", DEEP)
    assert response.status_code == 400 and "nested deeper" in response.text
    response = raw(merchant, "PUT", f"{server}/api/v1/brand-voice", '{"tone": ' + DEEP + "}")
    assert response.status_code == 400 and "nested deeper" in response.text


def test_integers_beyond_the_database_are_a_400(server, merchant):
    body = '{"sku": "I-1", "title": "t", "price": "1", "stock": 99999999999999999999}'
    named_400(raw(merchant, "POST", f"{server}/api/v1/products", body), "stock")
    body = '{"action": "approve", "draft_ids": [1e20]}'
    named_400(raw(merchant, "POST", f"{server}/api/v1/review/drafts/bulk", body), "draft_ids")


def test_negative_offset_is_a_400_and_the_flag_filter_works(server, merchant, products):
    named_400(merchant.get(f"{server}/api/v1/review/drafts?offset=-346", timeout=30), "offset")
    draft = make_draft(
        products[0],
        "seo_title",
        "Silk saucepan",
        flags=[{"code": "unsupported_material", "severity": "hard", "message": "silk"}],
    )
    response = merchant.get(f"{server}/api/v1/review/drafts?flag=unsupported_material", timeout=30)
    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [draft.pk]


def test_skus_are_refused_or_reachable_at_every_product_route(server, merchant, storefront, shop):
    response = merchant.post(
        f"{server}/api/v1/products", json={"sku": "B/1", "title": "t", "price": "1"}, timeout=30
    )
    assert "/ \\ ? # %" in named_400(response, "sku")["errors"]["sku"][0]
    sku = "A+B:1(é)~&=@!'*,;$[]"
    response = merchant.post(
        f"{server}/api/v1/products", json={"sku": sku, "title": "Mug", "price": "1"}, timeout=30
    )
    assert response.status_code == 201, response.text
    path = quote(sku, safe="")
    for url in (
        f"/api/v1/products/{path}",
        f"/api/v1/products/{path}/history",
        f"/api/v1/review/products/{path}/history",
    ):
        response = merchant.get(server + url, timeout=30)
        assert response.status_code == 200, (url, response.status_code)
    assert merchant.get(f"{server}/api/v1/products/{path}", timeout=30).json()["sku"] == sku
    response = storefront.get(f"{server}/api/v1/storefront/products/{path}", timeout=30)
    assert response.status_code == 200 and response.json()["sku"] == sku


def test_import_encoding_is_checked_at_submission(server, merchant):
    response = merchant.post(
        f"{server}/api/v1/imports",
        files={"file": ("c.csv", b"sku,title,price\nE-1,Mug,1\n")},
        data={"encoding": "unicode_escape"},
        timeout=30,
    )
    named_400(response, "encoding")


def test_events_dated_in_year_one_are_refused(server, storefront):
    now = timezone.now()
    batch = [
        {"event_id": "old", "type": "view", "visitor_id": "v", "ts": "0001-01-01T00:00:00"},
        {"event_id": "new", "type": "view", "visitor_id": "v", "ts": now.isoformat()},
        {"event_id": "far", "type": "view", "visitor_id": "v", "ts": str(now - timedelta(500))},
    ]
    response = storefront.post(f"{server}/api/v1/storefront/events", json={"events": batch})
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(0, "ts"), (2, "ts")}


def test_export_is_formula_safe_and_imports_back_unchanged(server, merchant):
    evil = '=HYPERLINK("http://evil.example","x")'
    product = {
        "sku": "R-1",
        "title": "-Sale- mug",
        "price": "3.00",
        "attributes": {"temp": "-20 C", evil: "1"},
        "copy": {"description": "- soft\n- warm"},
    }
    assert merchant.post(f"{server}/api/v1/products", json=product).status_code == 201
    before = merchant.get(f"{server}/api/v1/products/R-1").json()
    revisions = CopyRevision.objects.count()
    exported = merchant.get(f"{server}/api/v1/products/export.csv").content
    header = next(csv.reader(io.StringIO(exported.decode())))
    assert "'" + evil in header and evil not in header
    response = merchant.post(
        f"{server}/api/v1/imports", files={"file": ("export.csv", exported)}, timeout=60
    )
    assert response.status_code == 202
    job = merchant.get(f"{server}/api/v1/jobs/{response.json()['id']}").json()
    assert job["status"] == "succeeded", job
    after = merchant.get(f"{server}/api/v1/products/R-1").json()
    assert after == before
    assert CopyRevision.objects.count() == revisions


def test_fine_tuning_refuses_a_server_path(server, merchant):
    for model in ("/etc", "/root/model.gguf"):
        response = merchant.post(f"{server}/api/v1/adapters", json={"model": model}, timeout=30)
        named_400(response, "model")


def test_last_owner_cannot_demote_themselves(server, shop):
    session = signed_in(server, shop.owner)
    staff = f"{server}/m/{shop.merchant.slug}/settings/staff/"
    assert session.get(staff, timeout=30).status_code == 200
    membership = Membership.objects.get(merchant=shop.merchant, user=shop.owner)
    response = session.post(
        f"{staff}{membership.pk}/",
        data={"role": "editor", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=30,
    )
    assert response.status_code == 200 and "at least one owner" in response.text
    membership.refresh_from_db()
    assert membership.role == "owner"


def test_demo_storefront_get_writes_nothing(server, shop):
    keys = ApiKey.objects.count()
    for user in (shop.reviewer, shop.editor):
        response = signed_in(server, user).get(
            f"{server}/storefront-demo/{shop.merchant.slug}/", timeout=30
        )
        assert response.status_code == 200
    shop.merchant.refresh_from_db()
    assert ApiKey.objects.count() == keys
    assert shop.merchant.storefront_origins == ["https://acme.shop.test"]
