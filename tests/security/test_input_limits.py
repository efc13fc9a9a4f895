"""Issue 17's input classes, at every door they can come in by (Django's test client; one
representative request of each class also goes to a live server in test_input_limits_live.py,
and the SQLite-only failures to a gunicorn on SQLite in test_input_limits_sqlite.py).

Each class is refused with a 400 (or a per-line import error) that names the field, and leaves
nothing behind that would break a later page."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from contentgen.models import CopyDraft
from merchandising.accounts.models import ApiKey, Membership
from merchandising.catalog import csv_format
from merchandising.catalog import services as catalog_services
from merchandising.catalog.models import CopyRevision, Product
from merchandising.inputs import DB_INT_MAX
from merchandising.jobs.models import Job
from merchandising.tracking.models import Event
from tests.contentgen.review.drafts import make_draft

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800x"
DEEP = "[" * 3000 + "]" * 3000
EVENTS = "/api/v1/storefront/events"


def raw_post(client, url, body: str, method: str = "post"):
    """A JSON body sent as written (the client would re-encode a Python object)."""
    return getattr(client, method)(url, body, content_type="application/json")


def assert_400_naming(response, field: str) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert field in body["errors"], body
    return body


@pytest.fixture
def merchant_api(api, shop):
    return api.as_key(shop.secret_key)


@pytest.fixture
def storefront_api(api, shop, settings):
    settings.MERCHLAB_STOREFRONT_RATE_PER_KEY = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = ""
    return api.as_storefront(shop.publishable_key)


def event(i: int = 0, **extra) -> dict:
    return {"event_id": f"ev-{i}", "type": "view", "visitor_id": "v-1", **extra}


# --- 1. lone UTF-16 surrogates -------------------------------------------------------------------


MERCHANT_SURROGATES = [
    (
        "post",
        "/api/v1/products",
        {"sku": "S-1", "title": "t", "price": "1", "attributes": {SURROGATE: "v"}},
        "attributes",
    ),  # fmt: skip
    (
        "post",
        "/api/v1/products",
        {"sku": "S-1", "title": "t", "price": "1", "attributes": {"color": SURROGATE}},
        "attributes",
    ),  # fmt: skip
    ("post", "/api/v1/products", {"sku": "S-1", "title": SURROGATE, "price": "1"}, "title"),
    ("post", "/api/v1/products", {"sku": SURROGATE, "title": "t", "price": "1"}, "sku"),
    (
        "post",
        "/api/v1/products/bulk",
        {"products": [{"sku": "S-1", "title": "t", "price": "1", "tags": [SURROGATE]}]},
        "products",
    ),  # fmt: skip
    ("patch", "/api/v1/products/SKU-0000", {"copy": {"description": SURROGATE}}, "copy"),
    ("put", "/api/v1/brand-voice", {"tone": SURROGATE}, "tone"),
    ("post", "/api/v1/segments/rules", {"name": "n", "rule": {SURROGATE: 1}}, "rule"),
    (
        "post",
        "/api/v1/review/drafts/bulk",
        {"action": "reject", "draft_ids": [1], "reason": "other", "note": SURROGATE},
        "note",
    ),  # fmt: skip
]


@pytest.mark.parametrize("method,url,body,field", MERCHANT_SURROGATES)
def test_lone_surrogates_are_refused_naming_the_field_at_every_merchant_endpoint(
    merchant_api, products, method, url, body, field
):
    before = CopyRevision.objects.count()
    response = raw_post(merchant_api, url, json.dumps(body), method)
    body = assert_400_naming(response, field)
    assert "surrogate" in body["detail"]
    assert CopyRevision.objects.count() == before
    # Nothing was stored that would break the pages that read it afterwards.
    assert merchant_api.get("/api/v1/products").status_code == 200
    assert merchant_api.get("/api/v1/products/export.csv").status_code == 200
    assert merchant_api.get("/api/v1/products/SKU-0000").status_code == 200


@pytest.mark.parametrize(
    "url,body,field",
    [
        (EVENTS, {"events": [event(0), event(1, visitor_id=SURROGATE)]}, "events"),
        (EVENTS, [event(0, sku=SURROGATE)], "body"),
        (EVENTS, {"events": [event(0, event_id=SURROGATE)]}, "events"),
        (
            "/api/v1/storefront/visitors/link",
            {"anonymous_id": SURROGATE, "visitor_id": "v"},
            "anonymous_id",
        ),  # fmt: skip
    ],
)
def test_lone_surrogates_are_refused_at_the_storefront(storefront_api, products, url, body, field):
    response = raw_post(storefront_api, url, json.dumps(body))
    assert_400_naming(response, field)
    assert not Event.objects.exists()


def test_csv_checker_names_line_and_column_of_a_surrogate():
    text = f"sku,title,price,color\nOK-1,Fine,1.00,red\nBAD-1,Bad{SURROGATE},1.00,r{SURROGATE}\n"
    report = csv_format.validate(text)
    assert {(e.line, e.column) for e in report.errors} == {(3, "title"), (3, "color")}
    assert all("surrogate" in e.message for e in report.errors)
    with pytest.raises(csv_format.FileError) as caught:
        csv_format.validate(f"sku,title,price,{SURROGATE}\nA,b,1\n")
    assert caught.value.line == 1 and "surrogate" in str(caught.value)


def test_dashboard_json_fields_refuse_surrogates_and_depth(client, shop, products):
    client.force_login(shop.editor)
    new = f"/m/{shop.merchant.slug}/recommendations/placements/new/"
    base = {
        "key": "summer",
        "name": "Summer",
        "strategy": "newest",
        "fallback_strategy": "popularity",
        "limit": "2",
        "filters": "{}",
        "diversity": "{}",
        "enabled": "on",
    }
    response = client.post(new, {**base, "rules": '[{"action": "pin", "sku": "\\ud800"}]'})
    assert response.status_code == 400 and "surrogate" in response.content.decode()
    response = client.post(new, {**base, "rules": DEEP})
    assert response.status_code == 400 and "nested deeper" in response.content.decode()
    preview = f"/m/{shop.merchant.slug}/recommendations/preview/"
    response = client.get(preview, {**base, "rules": DEEP})
    assert response.status_code == 200 and "nested deeper" in response.content.decode()


def test_dashboard_form_bytes_that_are_no_unicode_never_reach_the_database(client, shop, products):
    """A form body is decoded by Django, which turns bytes that are not UTF-8 (a surrogate's
    UTF-8 form included) into U+FFFD: nothing unstorable gets through."""
    client.force_login(shop.editor)
    product = products[0]
    body = (
        b"title=Pan%ED%A0%80&price=1.00&currency=EUR&stock=1&status=active"
        + b"&attributes=color%3A+r%ED%A0%80"
    )
    response = client.post(
        f"/m/{shop.merchant.slug}/catalog/{product.pk}/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302, 400)
    product.refresh_from_db()
    json.dumps(product.attributes).encode("utf-8")
    product.title.encode("utf-8")


# --- 4. deeply nested JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,url", [("post", "/api/v1/products"), ("put", "/api/v1/brand-voice")]
)
def test_deep_json_is_a_400_at_merchant_endpoints(merchant_api, method, url):
    response = raw_post(merchant_api, url, DEEP, method)
    assert response.status_code == 400
    assert "nested deeper than 32" in json.dumps(response.json())


def test_deep_json_is_a_400_at_the_storefront(storefront_api, products):
    response = raw_post(storefront_api, EVENTS, '{"events": ' + DEEP + "}")
    assert response.status_code == 400
    # Within the interpreter's recursion limit but beyond ours: named by the field.
    shallow = "[" * 40 + "]" * 40
    response = raw_post(storefront_api, EVENTS, '{"events": [' + shallow + "]}")
    assert_400_naming(response, "events")


def test_depth_limit_is_a_setting(merchant_api, settings):
    settings.MERCHLAB_JSON_MAX_DEPTH = 2
    body = {"sku": "D-1", "title": "t", "price": "1", "copy": {"ad_headlines": ["a"]}}
    response = raw_post(merchant_api, "/api/v1/products", json.dumps(body))
    assert_400_naming(response, "copy")
    settings.MERCHLAB_JSON_MAX_DEPTH = 3
    assert raw_post(merchant_api, "/api/v1/products", json.dumps(body)).status_code == 201


def test_multipart_json_settings_of_fine_tuning_are_checked(merchant_api):
    response = merchant_api.post("/api/v1/adapters", {"settings": DEEP}, format="multipart")
    assert_400_naming(response, "settings")


# --- 12. integer overflow ----------------------------------------------------------------------


def test_stock_beyond_a_database_integer_is_a_400(merchant_api):
    body = '{"sku": "I-1", "title": "t", "price": "1", "stock": 99999999999999999999}'
    assert_400_naming(raw_post(merchant_api, "/api/v1/products", body), "stock")
    body = f'{{"sku": "I-1", "title": "t", "price": "1", "stock": {DB_INT_MAX}}}'
    assert raw_post(merchant_api, "/api/v1/products", body).status_code == 201


@pytest.mark.parametrize(
    "url,body,field",
    [
        ("/api/v1/review/drafts/bulk", '{"action": "approve", "draft_ids": [1e20]}', "draft_ids"),
        (
            "/api/v1/review/drafts/bulk",
            '{"action": "approve", "draft_ids": [100000000000000000000]}',
            "draft_ids",
        ),  # fmt: skip
        ("/api/v1/segments/merge", '{"segment_ids": [1e20, 1]}', "segment_ids"),
        ("/api/v1/segments/merge", '{"segment_ids": [100000000000000000000, 1]}', "segment_ids"),
    ],
)
def test_id_lists_beyond_a_database_integer_are_a_400(merchant_api, url, body, field):
    assert_400_naming(raw_post(merchant_api, url, body), field)


def test_csv_stock_overflow_names_line_and_column(shop):
    data = b"sku,title,price,stock\nA-1,Fine,1.00,3\nA-2,Big,1.00,99999999999999999999\n"
    with pytest.raises(catalog_services.ImportFailed) as caught:
        catalog_services.product_import_csv(merchant=shop.merchant, data=data)
    assert [(e["line"], e["column"]) for e in caught.value.result["errors"]] == [(3, "stock")]
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def test_dashboard_bulk_review_with_a_huge_id_does_not_fail(client, shop, products):
    client.force_login(shop.reviewer)
    response = client.post(
        f"/m/{shop.merchant.slug}/content/review/bulk/",
        {"draft_ids": ["99999999999999999999", "x"], "bulk_action": "approve"},
    )
    assert response.status_code in (302, 200)


# --- 19 and 6. paging and the review flag filter ----------------------------------------------


@pytest.mark.parametrize(
    "query,field",
    [
        ("offset=-346", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
    ],
)
def test_paging_parameters_out_of_range_are_a_400(merchant_api, query, field):
    assert_400_naming(merchant_api.get(f"/api/v1/review/drafts?{query}"), field)


def test_product_and_job_lists_check_their_limit(merchant_api, products):
    assert_400_naming(merchant_api.get("/api/v1/products?limit=-5"), "limit")
    assert_400_naming(merchant_api.get("/api/v1/jobs?limit=100000"), "limit")
    assert len(merchant_api.get("/api/v1/products?limit=2").json()["results"]) == 2


def test_review_flag_filter_finds_drafts_by_flag_code(merchant_api, products):
    flagged = make_draft(
        products[0],
        "seo_title",
        "Silk saucepan",
        flags=[{"code": "unsupported_material", "severity": "hard", "message": "silk"}],
    )
    make_draft(products[1], "seo_title", "Copper saucepan", flags=[])
    response = merchant_api.get("/api/v1/review/drafts?flag=unsupported_material")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [flagged.pk]
    assert merchant_api.get("/api/v1/review/drafts?flag=nothing_like_it").json()["count"] == 0
    assert CopyDraft.objects.count() == 2


# --- 13. SKUs that a web address cannot carry --------------------------------------------------


@pytest.mark.parametrize("sku", ["B/1", "B\\1", "B?1", "B#1", "B%1", ".", "..", "bulk"])
def test_skus_routes_cannot_carry_are_refused(merchant_api, sku):
    response = merchant_api.post(
        "/api/v1/products", {"sku": sku, "title": "t", "price": "1"}, format="json"
    )
    body = assert_400_naming(response, "sku")
    assert "/ \\ ? # %" in body["errors"]["sku"][0] or "reserved" in body["errors"]["sku"][0]


def test_csv_refuses_such_skus_by_line_and_column():
    report = csv_format.validate("sku,title,price\nOK-1,a,1\nB/1,b,1\n")
    assert [(e.line, e.column) for e in report.errors] == [(3, "sku")]
    assert "/ \\ ? # %" in report.errors[0].message


# --- 14. import encodings -----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["unicode_escape", "punycode", "0", "rot13", "zlib"])
def test_import_encoding_outside_the_allow_list_is_refused_at_submission(merchant_api, encoding):
    upload = io.BytesIO(b"sku,title,price\nE-1,Mug,1.00\n")
    upload.name = "c.csv"
    response = merchant_api.post(
        "/api/v1/imports", {"file": upload, "encoding": encoding}, format="multipart"
    )
    body = assert_400_naming(response, "encoding")
    assert "utf-8" in body["errors"]["encoding"][0]
    assert not Job.objects.exists()


def test_import_encodings_accept_their_usual_spellings(
    merchant_api, shop, django_capture_on_commit_callbacks
):
    upload = io.BytesIO("sku,title,price\nE-1,Crème brûlée dish,1.00\n".encode("cp1252"))
    upload.name = "c.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant_api.post(
            "/api/v1/imports", {"file": upload, "encoding": "Windows_1252"}, format="multipart"
        )
    assert response.status_code == 202
    assert Job.objects.get().params["encoding"] == "cp1252"
    assert Product.objects.get(merchant=shop.merchant).title == "Crème brûlée dish"


def test_dashboard_import_form_offers_the_same_encodings(client, shop):
    client.force_login(shop.editor)
    page = client.get(f"/m/{shop.merchant.slug}/catalog/import/").content.decode()
    for name in csv_format.ENCODING_NAMES:
        assert f'value="{name}"' in page


# --- 16. how old an event may be --------------------------------------------------------------


def test_events_from_year_one_or_older_than_the_bound_are_refused(storefront_api, settings):
    now = timezone.now()
    batch = [
        event(0, ts="0001-01-01T00:00:00"),
        event(1, ts=(now - timedelta(days=401)).isoformat()),
        event(2, ts=(now - timedelta(days=399)).isoformat()),
    ]
    body = storefront_api.post(EVENTS, {"events": batch}, format="json").json()
    assert body["accepted"] == 1
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(0, "ts"), (1, "ts")}
    assert "400 days in the past" in body["errors"][1]["message"]
    settings.MERCHLAB_EVENT_MAX_AGE_DAYS = 30
    batch = [event(3, ts=(now - timedelta(days=31)).isoformat())]
    response = storefront_api.post(EVENTS, {"events": batch}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "ts"


def test_event_import_keeps_history_but_not_before_1970(tmp_path, shop):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,type,visitor_id,ts\nold-1,view,v,2015-06-01T10:00:00Z\nbad-1,view,v,0001-01-01\n"
    )
    out = io.StringIO()
    call_command("import_events", str(path), merchant=shop.merchant.slug, stdout=out, verbosity=0)
    assert list(Event.objects.values_list("event_id", flat=True)) == ["old-1"]
    assert "line 3: ts" in out.getvalue()


# --- 8 and 9. CSV export: formula-safe, and it imports back to the same catalog ----------------


def export_rows(api) -> list[list[str]]:
    import csv

    text = api.get("/api/v1/products/export.csv").content.decode()
    return list(csv.reader(io.StringIO(text)))


def test_export_neutralises_header_cells(merchant_api):
    evil = '=HYPERLINK("http://evil.example","x")'
    merchant_api.post(
        "/api/v1/products",
        {"sku": "H-1", "title": "Mug", "price": "1", "attributes": {evil: "1"}},
        format="json",
    )
    header = export_rows(merchant_api)[0]
    assert "'" + evil in header and evil not in header


def test_export_imports_back_to_the_same_catalog(
    merchant_api, shop, django_capture_on_commit_callbacks
):
    tricky = [
        {
            "sku": "R-1",
            "title": "-Sale- mug",
            "price": "12.50",
            "stock": 3,
            "tags": ["-new", "=odd"],
            "attributes": {
                "temp": "-20 C",
                "=HYPERLINK(1)": "@home",
                "title": "an attribute called title",
                "quote": "'-kept",
                "plain": "'just a quote",
            },
            "copy": {
                "description": "- soft\n- warm\n+ washable",
                "seo_title": "+1 mug",
                "ad_headlines": ["-50% today", "Plain"],
            },
        },
        {"sku": "R-2", "title": "@handle tee", "price": "5", "copy": {"description": "=SUM(1)"}},
    ]
    response = merchant_api.post("/api/v1/products/bulk", {"products": tricky}, format="json")
    assert response.status_code == 200, response.content
    before = merchant_api.get("/api/v1/products").json()["results"]
    revisions = CopyRevision.objects.count()

    exported = merchant_api.get("/api/v1/products/export.csv").content
    # In a spreadsheet none of these cells would run: each starts with the text mark.
    assert b"'-Sale- mug" in exported and b"'=SUM(1)" in exported
    upload = io.BytesIO(exported)
    upload.name = "export.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant_api.post("/api/v1/imports", {"file": upload}, format="multipart")
    assert response.status_code == 202
    result = Job.objects.get(kind="catalog_import").result
    assert result["unchanged"] == 2 and result["copy_changes"] == 0, result

    after = merchant_api.get("/api/v1/products").json()["results"]
    strip = ("updated_at",)
    assert [{k: v for k, v in p.items() if k not in strip} for p in after] == [
        {k: v for k, v in p.items() if k not in strip} for p in before
    ]
    assert CopyRevision.objects.count() == revisions  # no new live revision
    assert after[0]["title"] == "-Sale- mug"
    assert after[0]["attributes"]["temp"] == "-20 C"
    assert after[0]["attributes"]["quote"] == "'-kept"
    assert after[0]["copy"]["description"]["value"] == "- soft\n- warm\n+ washable"


# --- 10. the last owner ------------------------------------------------------------------------


def test_the_last_owner_cannot_demote_themselves(client, shop):
    client.force_login(shop.owner)
    membership = Membership.objects.get(merchant=shop.merchant, user=shop.owner)
    url = f"/m/{shop.merchant.slug}/settings/staff/{membership.pk}/"
    response = client.post(url, {"role": "editor"}, follow=True)
    assert "at least one owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "owner"
    # With a second owner, the first may step down.
    editor = Membership.objects.get(merchant=shop.merchant, user=shop.editor)
    client.post(f"/m/{shop.merchant.slug}/settings/staff/{editor.pk}/", {"role": "owner"})
    client.post(url, {"role": "editor"})
    membership.refresh_from_db()
    assert membership.role == "editor"


# --- 11. fine-tuning's base model ---------------------------------------------------------------


@pytest.mark.parametrize("model", ["/etc", "/tmp/x.gguf", "../../secrets", "gpt2"])
def test_fine_tuning_names_its_base_model_from_the_allow_list(merchant_api, model):
    response = merchant_api.post("/api/v1/adapters", {"model": model}, format="json")
    body = assert_400_naming(response, "model")
    assert body["errors"]["model"] == ["Not a base model this server fine-tunes; one of: default."]


def test_operator_allows_more_base_models_by_name(settings):
    from contentgen.finetuning.serializers import FinetuneStartSerializer

    settings.CONTENTGEN_FINETUNE_MODELS = ["small=/models/small", "HuggingFaceTB/SmolLM2-360M"]
    data = FinetuneStartSerializer(data={"model": "small"})
    assert data.is_valid(), data.errors
    assert data.validated_data["model"] == "/models/small"
    data = FinetuneStartSerializer(data={"model": "/models/small"})
    assert not data.is_valid() and "model" in data.errors
    data = FinetuneStartSerializer(data={"model": "HuggingFaceTB/SmolLM2-360M"})
    assert data.is_valid()


# --- 15. GET never writes ----------------------------------------------------------------------


def test_demo_storefront_page_writes_nothing_on_get(client, shop, products):
    url = f"/storefront-demo/{shop.merchant.slug}/"
    keys = ApiKey.objects.count()
    for user in (shop.reviewer, shop.editor, shop.owner):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200
        assert "not set up yet" in page.content.decode()
    shop.merchant.refresh_from_db()
    assert ApiKey.objects.count() == keys
    assert shop.merchant.storefront_origins == ["https://acme.shop.test"]

    client.force_login(shop.editor)
    assert client.post(url).status_code == 403
    client.force_login(shop.owner)
    assert client.post(url).status_code == 302
    assert ApiKey.objects.count() == keys + 1
    shop.merchant.refresh_from_db()
    assert "http://testserver" in shop.merchant.storefront_origins

    client.force_login(shop.reviewer)
    page = client.get(url).content.decode()
    assert "data-merchlab-key=" in page and "not set up yet" not in page
    client.force_login(shop.owner)
    client.post(url)  # setting up again keeps the live key
    assert ApiKey.objects.count() == keys + 1


# --- import batching ---------------------------------------------------------------------------


def test_import_commits_in_batches_and_a_rerun_finishes_it(shop, monkeypatch):
    rows = "".join(f"B-{i:03d},Mug {i},1.00,Descr {i}\n" for i in range(7))
    data = ("sku,title,price,description\n" + rows).encode()
    monkeypatch.setattr(catalog_services, "IMPORT_BATCH", 3)
    real = catalog_services.products_upsert
    calls = []

    def dies_in_the_third_batch(**kwargs):
        calls.append(len(kwargs["rows"]))
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(catalog_services, "products_upsert", dies_in_the_third_batch)
    with pytest.raises(RuntimeError):
        catalog_services.product_import_csv(merchant=shop.merchant, data=data)
    # The two batches before the failure are saved whole (products and their copy).
    saved = Product.objects.filter(merchant=shop.merchant)
    assert sorted(saved.values_list("sku", flat=True)) == [f"B-{i:03d}" for i in range(6)]
    assert CopyRevision.objects.filter(product__in=saved).count() == 6

    monkeypatch.setattr(catalog_services, "products_upsert", real)
    result = catalog_services.product_import_csv(merchant=shop.merchant, data=data)
    assert (result["created"], result["unchanged"], result["copy_changes"]) == (1, 6, 1)
    assert CopyRevision.objects.count() == 7
