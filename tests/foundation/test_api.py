"""Merchant REST API and the storefront product endpoint."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from merchandising.catalog.models import Product
from merchandising.jobs.models import Job
from tests.conftest import product_rows

pytestmark = pytest.mark.django_db


def test_create_read_update_archive(api, shop):
    api.as_key(shop.secret_key)
    body = product_rows(1)[0]
    response = api.post("/api/v1/products", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["copy"]["description"]["value"] == "A copper saucepan, number 0."
    sku = body["sku"]
    assert api.post("/api/v1/products", body, format="json").status_code == 400  # SKU taken
    response = api.patch(
        f"/api/v1/products/{sku}", {"price": "39.00", "attributes": {"color": "red"}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["price"] == "39.00" and response.json()["attributes"] == {"color": "red"}
    assert api.post(f"/api/v1/products/{sku}/archive").json()["status"] == "archived"
    assert api.get(f"/api/v1/products/{sku}").json()["status"] == "archived"


def test_malformed_input_gets_400_naming_the_field(api, shop):
    api.as_key(shop.secret_key)
    response = api.post(
        "/api/v1/products", {"sku": "A 1", "title": "x", "price": "-3"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"sku", "price"}
    response = api.post("/api/v1/products", "not json", content_type="application/json")
    assert response.status_code == 400
    assert not Product.objects.exists()


def test_list_filters_and_cursor_pagination(api, shop):
    from merchandising.catalog.services import product_bulk_upsert

    items = product_rows(7)
    items[0]["category"] = "Garden > Tools"
    items[1]["stock"] = 0
    product_bulk_upsert(merchant=shop.merchant, items=items)
    api.as_key(shop.secret_key)
    seen, url = [], "/api/v1/products?limit=3"
    while url:
        page = api.get(url).json()
        seen += [p["sku"] for p in page["results"]]
        url = page["next"]
    assert seen == sorted(i["sku"] for i in items)
    assert [
        p["sku"] for p in api.get("/api/v1/products", {"category": "Garden"}).json()["results"]
    ] == [items[0]["sku"]]
    assert [p["sku"] for p in api.get("/api/v1/products", {"stock": "out"}).json()["results"]] == [
        items[1]["sku"]
    ]
    assert len(api.get("/api/v1/products", {"q": "saucepan 3"}).json()["results"]) == 1


def test_bulk_upsert_is_all_or_nothing_and_names_item_and_field(api, shop):
    api.as_key(shop.secret_key)
    items = product_rows(3)
    items[2]["price"] = "lots"
    response = api.post("/api/v1/products/bulk", {"products": items}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["products"]["2"] == {"price": ["A valid number is required."]}
    assert not Product.objects.exists()
    items[2]["price"] = "3.50"
    response = api.post("/api/v1/products/bulk", {"products": items}, format="json")
    assert response.json()["created"] == 3
    response = api.post("/api/v1/products/bulk", {"products": items + [items[0]]}, format="json")
    assert response.status_code == 400 and "Duplicate" in response.json()["errors"]["products"][0]


def test_import_over_the_api_runs_as_a_job(api, shop, django_capture_on_commit_callbacks):
    api.as_key(shop.secret_key)
    upload = SimpleUploadedFile(
        "c.csv", b"sku,title,price\nA-1,One,1\nA-2,Two,2\n", content_type="text/csv"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports", {"file": upload}, format="multipart")
    assert response.status_code == 202
    job = api.get(f"/api/v1/jobs/{response.json()['id']}").json()
    assert (job["status"], job["progress"], job["result"]["created"]) == ("succeeded", 100, 2)


def test_failed_import_job_lists_problems(api, shop, django_capture_on_commit_callbacks):
    api.as_key(shop.secret_key)
    upload = SimpleUploadedFile("c.csv", b"sku,title,price\nA-1,,1\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api.post("/api/v1/imports", {"file": upload}, format="multipart").json()["id"]
    job = Job.objects.get(pk=job_id)
    assert job.status == "failed"
    assert job.result["errors"] == [{"line": 2, "column": "title", "message": "is required"}]
    assert "nothing was imported" in job.error


def test_export_is_csv(api, shop, products):
    response = api.as_key(shop.secret_key).get("/api/v1/products/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert products[0].sku in response.content.decode()


def test_history_of_live_copy(api, shop, products):
    api.as_key(shop.secret_key)
    sku = products[0].sku
    api.patch(f"/api/v1/products/{sku}", {"copy": {"description": "Second text."}}, format="json")
    history = api.get(f"/api/v1/products/{sku}/history").json()
    assert [h["value"] for h in history] == ["Second text.", "A copper saucepan, number 0."]


def test_storefront_serves_public_fields_and_live_copy_only(api, shop, products):
    api.as_storefront(shop.publishable_key)
    data = api.get(f"/api/v1/storefront/products/{products[0].sku}").json()
    assert data["copy"] == {"description": "A copper saucepan, number 0."}
    assert data["in_stock"] is True and "stock" not in data
    assert api.get("/api/v1/storefront/products/NOPE").status_code == 404
    assert (
        api.get(
            f"/api/v1/storefront/products/{products[0].sku}", {"visitor_id": "v" * 201}
        ).status_code
        == 400
    )


def test_storefront_data_is_readable_only_from_the_merchants_origins(api, shop, products):
    url = f"/api/v1/storefront/products/{products[0].sku}"
    api.as_storefront(shop.publishable_key)
    ok = api.get(url, HTTP_ORIGIN="https://acme.shop.test")
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == "https://acme.shop.test"
    # A refused origin may read the refusal (so the widget can say why), and nothing else.
    evil = api.get(url, HTTP_ORIGIN="https://evil.test")
    assert evil.status_code == 403
    assert evil["Access-Control-Allow-Origin"] == "https://evil.test"
    assert "origin" in evil["Vary"].lower()
    assert "Access-Control-Allow-Credentials" not in evil
    body = evil.json()
    assert list(body) == ["detail"] and "https://evil.test is not allowed" in body["detail"]
    assert products[0].sku not in evil.content.decode()


def test_merchant_api_refusals_carry_no_cors_headers(api, shop):
    api.as_key("sk_" + "x" * 43)
    refused = api.get("/api/v1/products", HTTP_ORIGIN="https://acme.shop.test")
    assert refused.status_code == 401 and "Access-Control-Allow-Origin" not in refused


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/products" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_running_job_shows_progress_reported_inside_a_transaction(api, shop):
    """An all-or-nothing import reports progress from inside its transaction; the job page must
    see it before the transaction commits (here the row is rolled back to 0 to stand for that)."""
    from merchandising.jobs.services import job_report

    job = Job.objects.create(merchant=shop.merchant, kind="catalog_import", status="running")
    job_report(job=job, progress=42, message="Saved 21,000 of 50,000 products")
    Job.objects.filter(pk=job.pk).update(progress=0, message="")
    data = api.as_key(shop.secret_key).get(f"/api/v1/jobs/{job.pk}").json()
    assert (data["progress"], data["message"]) == (42, "Saved 21,000 of 50,000 products")


def test_nul_characters_get_400_naming_the_field(api, shop):
    api.as_key(shop.secret_key)
    response = api.get("/api/v1/products", {"q": "pan\x00"})
    assert response.status_code == 400 and "q" in response.json()["errors"]
    response = api.post(
        "/api/v1/products", {"sku": "A-1", "title": "Pan\u0000", "price": "1"}, format="json"
    )
    assert response.status_code == 400 and "title" in response.json()["errors"]
    assert not Product.objects.exists()
