"""Hostile content: product text, attributes and merchant inputs with HTML, scripts, very long
strings, odd Unicode and prompt-injection attempts are stored exactly as sent, escaped on every
dashboard page, returned as data (JSON) by the APIs, cannot change the generation instructions,
and what cannot be stored (NUL) is refused with the field named, never a 500."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from merchandising.catalog.models import Product
from merchandising.catalog.services import product_import_csv
from merchandising.jobs.models import Job

from . import hostile

pytestmark = pytest.mark.django_db

# ">" separates category levels by design, so the hostile category holds no other ">".
CATEGORY = 'Kitchen > Pans & "Pots" <img src=x onerror="window.__xss=4"'


def hostile_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["sku", "title", "price", "brand", "category", "description", "tags", *hostile.ATTRIBUTES]
    )
    for i, (name, title) in enumerate(hostile.TITLES.items()):
        description = hostile.LONG_DESCRIPTION if name == "long" else hostile.DESCRIPTION
        writer.writerow(
            [
                f"H-{i:02d}",
                title,
                "9.99",
                hostile.IMG[:120],
                CATEGORY,
                description,
                "|".join(hostile.TAGS),
                *hostile.ATTRIBUTES.values(),
            ]
        )
    return out.getvalue().encode()


@pytest.fixture
def hostile_products(shop):
    result = product_import_csv(merchant=shop.merchant, data=hostile_csv())
    assert result["created"] == len(hostile.TITLES)
    return list(Product.objects.filter(merchant=shop.merchant).order_by("sku"))


def live(product) -> dict:
    return {c.field: c.value for c in product.live_copy.all()}


# --- stored faithfully ----------------------------------------------------------------------------


def test_csv_import_stores_hostile_text_exactly(hostile_products):
    for product, (name, title) in zip(hostile_products, hostile.TITLES.items(), strict=True):
        assert product.title == title, name
        assert product.brand == hostile.IMG[:120]
        assert product.category == CATEGORY
        assert product.attributes == hostile.ATTRIBUTES
        assert product.tags == hostile.TAGS
        expected = hostile.LONG_DESCRIPTION if name == "long" else hostile.DESCRIPTION
        assert live(product)["description"] == expected


def test_merchant_api_round_trips_hostile_text(api, shop):
    api.as_key(shop.secret_key)
    body = {
        "sku": "API-HOSTILE",
        "title": hostile.TITLES["emoji"] + hostile.SCRIPT,
        "brand": hostile.RTL,
        "price": "1.00",
        "attributes": hostile.ATTRIBUTES,
        "tags": hostile.TAGS,
        "copy": {
            "description": hostile.DESCRIPTION,
            "ad_headlines": [hostile.IMG, hostile.ZALGO],
        },
    }
    created = api.post("/api/v1/products", body, format="json")
    assert created.status_code == 201, created.content
    got = api.get("/api/v1/products/API-HOSTILE").json()
    assert got["title"] == body["title"] and got["brand"] == hostile.RTL
    assert got["attributes"] == hostile.ATTRIBUTES and got["tags"] == hostile.TAGS
    copy = {k: v["value"] if isinstance(v, dict) else v for k, v in got["copy"].items()}
    assert copy["description"] == hostile.DESCRIPTION
    assert copy["ad_headlines"] == [hostile.IMG, hostile.ZALGO]


@pytest.mark.parametrize(
    "field,value",
    [
        ("title", "bad\x00title"),
        ("brand", "nul\x00brand"),
        ("attributes", {"material": "nul\x00value"}),
        ("attributes", {"nul\x00name": "value"}),
        ("tags", ["ok", "nul\x00tag"]),
        ("copy", {"description": "nul\x00copy"}),
        ("title", "x" * 100_000),
    ],
)
def test_merchant_api_refuses_what_cannot_be_stored_with_the_field_named(api, shop, field, value):
    api.as_key(shop.secret_key)
    body = {"sku": "NUL-1", "title": "Fine", "price": "1.00", field: value}
    response = api.post("/api/v1/products", body, format="json")
    assert response.status_code == 400, (field, response.status_code, response.content[:300])
    assert field in response.json()["errors"]
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def test_csv_with_nul_and_control_characters_is_refused_by_line_and_column(shop):
    data = "sku,title,price,material\nOK-1,Fine,1.00,steel\nBAD-1,Bad\x00title,1.00,st\x07eel\n"
    with pytest.raises(Exception) as caught:
        product_import_csv(merchant=shop.merchant, data=data.encode())
    errors = caught.value.result["errors"]
    assert {(e["line"], e["column"]) for e in errors} >= {(3, "title")}
    assert not Product.objects.filter(merchant=shop.merchant).exists()


# --- escaped everywhere it is shown ----------------------------------------------------------------


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def dashboard_pages(values: dict) -> list[str]:
    """Every dashboard page whose URL parameters we can fill (new pages join automatically)."""
    pages = []
    for route in sorted(set(_walk(get_resolver().url_patterns))):
        if not route.startswith("m/<slug:merchant_slug>/"):
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if any(p not in values for p in params):
            continue
        if any(word in route for word in ("cancel", "revert", "/<slug:action>/", "export")):
            continue  # actions, not pages
        pages.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route))
    return pages


def failed_hostile_job(shop, capture) -> Job:
    """An import whose errors quote hostile values: the job page shows them."""
    data = (
        f"sku,title,price,{hostile.SCRIPT}\n"
        f"X-1,{hostile.IMG.replace(',', ' ')},{hostile.SCRIPT},{hostile.SCRIPT}\n"
    )
    from merchandising.catalog.services import product_import_submit

    with capture(execute=True):
        job = product_import_submit(
            merchant=shop.merchant, data=data.encode(), filename=hostile.IMG
        )
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    return job


def hostile_draft(shop, product):
    """Generated copy waiting for review that contains markup (when generation is installed)."""
    from django.apps import apps

    if not apps.is_installed("contentgen"):
        return None
    from contentgen.models import CopyDraft

    return CopyDraft.objects.create(
        merchant=shop.merchant,
        product=product,
        sku=product.sku,
        kind="description",
        field="description",
        text=hostile.DESCRIPTION,
        flags=[{"code": "markup_html", "severity": "hard", "message": hostile.SCRIPT}],
    )


def test_every_dashboard_page_escapes_hostile_text(
    client, shop, hostile_products, django_capture_on_commit_callbacks
):
    job = failed_hostile_job(shop, django_capture_on_commit_callbacks)
    client.force_login(shop.owner)
    values = {
        "merchant_slug": shop.merchant.slug,
        "product_id": hostile_products[0].pk,
        "job_id": job.pk,
    }
    draft = hostile_draft(shop, hostile_products[0])
    if draft is not None:
        values["draft_id"] = draft.pk
    pages = dashboard_pages(values)
    assert any("/catalog/" in p for p in pages) and any("/jobs/" in p for p in pages)
    searched = 0
    for page in pages:
        response = client.get(page)
        assert response.status_code in (200, 302, 403, 404, 405), (page, response.status_code)
        html = response.content.decode()
        hostile.assert_no_raw_markup(html, page)
        searched += response.status_code == 200
    assert searched >= 3

    # Every hostile product's own page shows its text, escaped.
    for product in hostile_products:
        html = client.get(f"/m/{shop.merchant.slug}/catalog/{product.pk}/").content.decode()
        hostile.assert_no_raw_markup(html, product.sku)
        assert "&lt;img src=x onerror=&quot;window.__xss=4&quot;" in html  # the category
    # The product list (search, filters) shows hostile titles escaped.
    listing = client.get(
        f"/m/{shop.merchant.slug}/catalog/", {"q": "Pan", "brand": hostile.IMG[:120]}
    )
    assert listing.status_code == 200
    hostile.assert_no_raw_markup(listing.content.decode(), "catalog list")
    assert "&lt;img src=x onerror=" in listing.content.decode()


def test_storefront_api_returns_hostile_text_as_json_data(api, shop, hostile_products):
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    for product in hostile_products:
        response = api.get(f"/api/v1/storefront/products/{product.sku}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response["X-Content-Type-Options"] == "nosniff"
        data = response.json()
        assert data["title"] == product.title
        assert data["attributes"] == hostile.ATTRIBUTES
        assert data["copy"]["description"] == live(product)["description"]


def test_recommendations_return_hostile_text_as_json(api, shop, hostile_products):
    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    response = api.get(
        "/api/v1/storefront/recommendations", {"placement": "home", "visitor_id": "v1"}
    )
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    titles = {item["title"] for item in response.json()["items"]}
    assert titles <= set(hostile.TITLES.values())


# --- generation instructions cannot be changed ----------------------------------------------------


def test_prompt_injection_in_catalog_text_cannot_change_the_instructions(hostile_products, shop):
    prompts = pytest.importorskip("contentgen.prompts", reason="contentgen prompts not installed")
    specs = pytest.importorskip("contentgen.specs")
    benign = Product.objects.create(
        merchant=shop.merchant,
        sku="BENIGN",
        title="Copper saucepan",
        brand="Kuchen",
        category="Kitchen > Cookware",
        price="49.90",
        attributes={"material": "copper", "color": "red", "size": "2 l", "origin": "DE"},
        tags=["copper"],
    )
    for kind in specs.KIND_NAMES:
        reference = prompts.build_messages(benign.facts(), kind)
        for product in hostile_products:
            messages = prompts.build_messages(product.facts(), kind)
            assert [m["role"] for m in messages] == ["system", "user"]
            # The instructions are the same words as for a harmless product.
            assert messages[0]["content"] == reference[0]["content"], (kind, product.sku)
            user = messages[1]["content"]
            # The product's data stays inside its one fence and cannot open a chat turn.
            assert user.count("<<<PRODUCT>>>") == 1 and user.count("<<<END PRODUCT>>>") == 1
            fenced = user.split("<<<PRODUCT>>>")[1].split("<<<END PRODUCT>>>")[0]
            for token in ("<|im_start|>", "<|im_end|>", "[INST]", "</s>", "<assistant>"):
                assert token not in user, (kind, product.sku, token)
            assert all(line.startswith("- ") for line in fenced.strip().splitlines())


def test_generated_markup_is_flagged_as_not_plain_text():
    guards = pytest.importorskip("contentgen.guards", reason="contentgen guards not installed")
    for text in (hostile.SCRIPT, hostile.IMG, "Buy at http://evil.example now"):
        flags = guards.check_markup(f"A fine pan. {text}")
        assert flags and all(f.code.startswith("markup_") for f in flags), text
    assert guards.check_markup("A fine copper pan, 2 l, red.") == []
