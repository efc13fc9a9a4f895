"""The merchant's standing past copy: upload on the fine-tuning page and in the API, replace,
remove, refusals that name the line and field, and runs that train on it."""

from __future__ import annotations

import io
import json

import pytest

from contentgen.finetuning import past_copy, selectors, services
from contentgen.finetuning.models import AdapterVersion
from merchandising.jobs.models import Job
from tests.conftest import PASSWORD
from tests.contentgen.finetuning.test_services import FAST, _upload

URL = "/api/v1/finetuning/past-copy"
GOOD_CSV = (
    "sku,title,brand,category,kind,text\n"
    "M1,Stoneware Mug Blue,Calder,Kitchen > Mugs,seo_title,Calder Stoneware Mug in Blue\n"
    'M2,Stoneware Mug Red,Calder,Kitchen > Mugs,bullets,"Red stoneware mug by Calder\n'
    'Glazed inside and out\nMade for daily coffee"\n'
)


def _file(content: bytes | str, name: str) -> io.BytesIO:
    fh = io.BytesIO(content.encode() if isinstance(content, str) else content)
    fh.name = name
    return fh


def _page(client, shop) -> str:
    return f"/m/{shop.merchant.slug}/content/fine-tuning/"


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


# --------------------------------------------------------------------------- dashboard


def test_editor_uploads_past_copy_and_the_page_shows_counts_per_kind(shop, client):
    _login(client, shop.editor)
    response = client.post(
        _page(client, shop) + "past-copy/", {"file": _file(_upload(), "past.jsonl")}
    )
    assert response.status_code == 302
    page = client.get(_page(client, shop)).content.decode()
    # 34 good SEO titles kept; the 35th fails the SEO title guard and is left out with its line
    assert "34 examples kept</strong> from past.jsonl" in page
    assert "by " + shop.editor.username in page
    kinds = page.split('id="past-copy-kinds"')[1].split("</table>")[0]
    assert "<td>SEO title</td><td>34</td>" in kinds.replace("\n", "")
    left_out = page.split('id="past-copy-left-out"')[1].split("</table>")[0]
    assert "fails a hard guard</td><td>1</td>" in left_out
    assert "line 35, field text:" in page
    # the training data counts include it
    assert selectors.training_data_summary(shop.merchant)["sources"]["upload"] == 34


def test_a_file_with_a_bad_line_is_refused_whole_naming_line_and_field(shop, client):
    _login(client, shop.editor)
    lines = _upload().decode().splitlines()
    lines[6] = json.dumps({"product": {"title": "Kettle"}, "kind": "seo_title"})  # line 7
    lines[9] = "{not json"  # line 10
    response = client.post(
        _page(client, shop) + "past-copy/", {"file": _file("\n".join(lines), "past.jsonl")}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "2 of 35 lines are bad, so nothing was kept" in page
    assert "line 7, field text: text is missing." in page
    assert "line 10: not valid JSON" in page
    assert selectors.past_copy_status(shop.merchant) is None
    assert "No past copy uploaded." in page

    # explicitly keeping only the valid lines keeps the rest and lists the bad ones
    response = client.post(
        _page(client, shop) + "past-copy/",
        {"file": _file("\n".join(lines), "past.jsonl"), "partial": "on"},
    )
    assert response.status_code == 302
    status = selectors.past_copy_status(shop.merchant)
    assert status["kept"] == 32 and status["partial"] is True
    assert status["left_out"] == {"bad_line": 2, "failed_guards": 1}
    assert [(p["line"], p["field"]) for p in status["problems"][:2]] == [(7, "text"), (10, "")]


def test_a_bad_csv_row_names_line_and_field_and_the_old_past_copy_stays(shop, client):
    _login(client, shop.editor)
    client.post(_page(client, shop) + "past-copy/", {"file": _file(GOOD_CSV, "past.csv")})
    assert selectors.past_copy_status(shop.merchant)["per_kind"] == {
        "seo_title": 1,
        "bullets": 1,
    }
    bad = GOOD_CSV + "M3,Stoneware Mug Teal,Calder,Kitchen > Mugs,,Teal mug\n"
    response = client.post(_page(client, shop) + "past-copy/", {"file": _file(bad, "new.csv")})
    assert response.status_code == 400
    # the bullets cell spans lines 3-5, so the new row starts on line 6
    assert "line 6, field kind: is empty." in response.content.decode()
    status = selectors.past_copy_status(shop.merchant)
    assert status["filename"] == "past.csv" and status["kept"] == 2


def test_replace_and_remove(shop, client):
    _login(client, shop.editor)
    client.post(_page(client, shop) + "past-copy/", {"file": _file(_upload(), "old.jsonl")})
    assert selectors.past_copy_status(shop.merchant)["kept"] == 34
    response = client.post(_page(client, shop) + "past-copy/", {"file": _file(GOOD_CSV, "new.csv")})
    assert response.status_code == 302
    status = selectors.past_copy_status(shop.merchant)
    assert status["filename"] == "new.csv" and status["kept"] == 2
    assert selectors.training_data_summary(shop.merchant)["total"] == 2

    response = client.post(_page(client, shop) + "past-copy/remove/")
    assert response.status_code == 302
    assert selectors.past_copy_status(shop.merchant) is None
    assert selectors.training_data_summary(shop.merchant)["total"] == 0
    assert "No past copy uploaded." in client.get(_page(client, shop)).content.decode()


def test_unknown_sku_and_kind_duplicates_and_too_long_are_left_out_with_their_line(shop):
    from merchandising.catalog.services import product_bulk_upsert

    product_bulk_upsert(
        merchant=shop.merchant,
        items=[{"sku": "MUG-1", "title": "Stoneware Mug", "brand": "Calder", "price": "12"}],
    )
    rows = [
        {"product": {"sku": "MUG-1"}, "kind": "seo_title", "text": "Calder Stoneware Mug"},
        {"product": {"sku": "NOPE"}, "kind": "seo_title", "text": "Some Mug"},
        {"product": {"sku": "MUG-1"}, "kind": "poem", "text": "Roses are red"},
        {"product": {"sku": "MUG-1"}, "kind": "seo_title", "text": "Calder  stoneware mug"},
    ]
    content = "\n".join(json.dumps(r) for r in rows).encode()
    report = services.past_copy_replace(merchant=shop.merchant, content=content, filename="p.jsonl")
    assert report["kept"] == 1 and report["per_kind"] == {"seo_title": 1}
    reasons = {p["line"]: (p["reason"], p["field"]) for p in report["problems"]}
    assert reasons == {
        2: ("unknown_sku", "sku"),
        3: ("unknown_kind", "kind"),
        4: ("duplicate", "text"),
    }
    # the SKU-only line took the product's facts from the catalog
    (record,) = selectors.past_copy_records(shop.merchant)
    assert record.facts["title"] == "Stoneware Mug" and record.facts["brand"] == "Calder"


def test_an_example_longer_than_the_training_context_is_left_out_as_too_long():
    line = {"product": {"title": "Stoneware Mug"}, "kind": "seo_title", "text": "Stoneware Mug"}
    checked = past_copy.check(json.dumps(line).encode(), "p.jsonl", max_length=40)
    assert checked.records == []
    (problem,) = checked.problems
    assert (problem.line, problem.reason, problem.field) == (1, "too_long", "text")
    assert "training takes at most 40" in problem.message
    assert past_copy.check(json.dumps(line).encode(), "p.jsonl").report()["kept"] == 1


def test_a_file_over_the_size_limit_is_refused_with_the_limit(shop, client, api, monkeypatch):
    monkeypatch.setattr(past_copy, "MAX_PAST_COPY_BYTES", 2048)
    _login(client, shop.editor)
    response = client.post(
        _page(client, shop) + "past-copy/", {"file": _file(_upload(), "big.jsonl")}
    )
    assert response.status_code == 400
    assert "past copy uploads are limited to 2 KB" in response.content.decode()
    response = api.as_key(shop.secret_key).post(
        URL, {"file": _file(_upload(), "big.jsonl")}, format="multipart"
    )
    assert response.status_code == 400
    assert "limited to 2 KB" in response.json()["errors"]["file"][0]
    assert selectors.past_copy_status(shop.merchant) is None


def test_reviewer_sees_past_copy_read_only_and_cannot_change_it(shop, client):
    services.past_copy_replace(merchant=shop.merchant, content=_upload(), filename="p.jsonl")
    _login(client, shop.reviewer)
    page = client.get(_page(client, shop)).content.decode()
    assert "34 examples kept" in page
    assert 'id="past-copy-form"' not in page and 'id="past-copy-remove"' not in page
    response = client.post(_page(client, shop) + "past-copy/", {"file": _file(GOOD_CSV, "new.csv")})
    assert response.status_code == 403
    assert client.post(_page(client, shop) + "past-copy/remove/").status_code == 403
    assert selectors.past_copy_status(shop.merchant)["kept"] == 34


# --------------------------------------------------------------------------- API


def test_api_upload_view_replace_and_remove(shop, api):
    client = api.as_key(shop.secret_key)
    assert client.get(URL).json()["uploaded"] is False
    response = client.post(URL, {"file": _file(_upload(), "p.jsonl")}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kept"] == 34 and body["per_kind"] == {"seo_title": 34}
    assert body["left_out"] == {"failed_guards": 1}
    assert body["problems"][0]["line"] == 35 and body["problems"][0]["field"] == "text"
    assert client.get(URL).json()["filename"] == "p.jsonl"

    response = client.post(URL, {"file": _file(GOOD_CSV, "p.csv")}, format="multipart")
    assert response.status_code == 201 and response.json()["kept"] == 2

    assert client.delete(URL).status_code == 204
    assert client.get(URL).json() == {**selectors.past_copy_empty()}


def test_api_bad_input_is_a_400_naming_the_field(shop, api):
    client = api.as_key(shop.secret_key)
    response = client.post(URL, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    bad = _upload().decode().replace('"kind": "seo_title"', '"kind": 7', 1)
    response = client.post(URL, {"file": _file(bad, "p.jsonl")}, format="multipart")
    assert response.status_code == 400
    assert "line 1, field kind" in response.json()["errors"]["file"][0]
    response = client.post(URL, {"file": _file("a,b\n1,2\n", "p.txt")}, format="multipart")
    assert response.status_code == 400 and ".jsonl or .csv" in response.json()["detail"]
    assert client.get(URL).json()["uploaded"] is False


def test_api_reviewer_is_forbidden_and_another_merchant_sees_nothing(shop, other_shop, api, client):
    api.as_key(shop.secret_key).post(URL, {"file": _file(_upload(), "p.jsonl")}, format="multipart")
    _login(client, shop.reviewer)
    assert client.get(URL).json()["kept"] == 34
    response = client.post(URL, {"file": _file(GOOD_CSV, "p.csv")})
    assert response.status_code == 403 and "role" in response.json()["detail"]
    assert client.delete(URL).status_code == 403

    other = api.as_key(other_shop.secret_key)
    assert other.get(URL).json()["uploaded"] is False
    assert other.delete(URL).status_code == 204
    assert selectors.past_copy_status(shop.merchant)["kept"] == 34
    # the other merchant's dashboard has no page for this merchant
    _login(client, other_shop.editor)
    assert client.get(f"/m/{shop.merchant.slug}/content/fine-tuning/").status_code == 404
    response = client.post(f"/m/{shop.merchant.slug}/content/fine-tuning/past-copy/remove/")
    assert response.status_code == 404
    assert selectors.past_copy_status(shop.merchant)["kept"] == 34


# --------------------------------------------------------------------------- runs


@pytest.mark.slow
def test_a_fine_tune_run_trains_on_the_past_copy(
    shop, api, tiny_model_dir, django_capture_on_commit_callbacks
):
    client = api.as_key(shop.secret_key)
    client.post(URL, {"file": _file(_upload(), "p.jsonl")}, format="multipart")
    with django_capture_on_commit_callbacks(execute=True):
        adapter = services.finetune_start(
            merchant=shop.merchant,
            user=shop.editor,
            training_settings=FAST,
            model=tiny_model_dir,
            eval_samples=0,
        )
    adapter.refresh_from_db()
    job = Job.objects.get(pk=adapter.job_id)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert adapter.status == AdapterVersion.Status.READY
    # no approved copy and no upload with the run: all 34 examples are the standing past copy
    assert adapter.data_size == 34 and adapter.data["per_kind"] == {"seo_title": 34}


def test_the_openapi_schema_documents_the_past_copy_routes(client):
    schema = client.get("/api/schema/").content.decode()
    section = schema.split("/api/v1/finetuning/past-copy:")[1][:6000]
    for operation in ("past_copy_get", "past_copy_upload", "past_copy_delete"):
        assert f"operationId: {operation}" in section
    assert "multipart/form-data" in section and "partial" in schema
