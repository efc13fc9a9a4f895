"""Merchant API and dashboard pages of fine-tuning (the training job itself is in test_services)."""

from __future__ import annotations

import io

from contentgen.finetuning.models import AdapterVersion
from merchandising.jobs.models import Job
from tests.conftest import PASSWORD
from tests.contentgen.finetuning.test_services import _upload


def test_api_starts_a_run_on_the_gpu_queue_and_lists_it(shop, api):
    client = api.as_key(shop.secret_key)
    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    response = client.post(
        "/api/v1/adapters",
        {"file": upload, "settings": '{"rank": 8, "max_steps": 5}', "auto_activate": "true"},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["version"] == 1 and body["status"] == "training"
    assert body["training_settings"]["rank"] == 8 and body["auto_activate"] is True
    assert Job.objects.get(pk=body["job_id"]).queue == "gpu"
    listed = client.get("/api/v1/adapters").json()
    assert [a["version"] for a in listed] == [1]
    assert client.get(f"/api/v1/adapters/{body['id']}").json()["job_status"] == "queued"


def test_api_refuses_bad_settings_and_too_little_data(shop, api):
    client = api.as_key(shop.secret_key)
    response = client.post("/api/v1/adapters", {"settings": {"rank": 8}}, format="json")
    assert response.status_code == 400 and "at least 30" in response.json()["detail"]
    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    response = client.post(
        "/api/v1/adapters", {"file": upload, "settings": '{"rnak": 8}'}, format="multipart"
    )
    assert response.status_code == 400 and "rnak" in response.json()["detail"]


def test_api_training_data_counts(shop, api):
    body = api.as_key(shop.secret_key).get("/api/v1/finetune/data").json()
    assert body["total"] == 0 and body["enough"] is False and body["min_examples"] == 30
    assert {k["kind"] for k in body["kinds"]} >= {"description", "seo_title", "ad_headline"}


def test_api_is_scoped_to_the_merchant(shop, other_shop, api):
    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    adapter_id = (
        api.as_key(shop.secret_key)
        .post("/api/v1/adapters", {"file": upload}, format="multipart")
        .json()["id"]
    )
    other = api.as_key(other_shop.secret_key)
    assert other.get(f"/api/v1/adapters/{adapter_id}").status_code == 404
    assert other.post(f"/api/v1/adapters/{adapter_id}/activate").status_code == 404
    assert other.get("/api/v1/adapters").json() == []


def test_api_activating_an_unfinished_adapter_is_refused_and_rollback_to_base_works(shop, api):
    client = api.as_key(shop.secret_key)
    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    adapter_id = client.post("/api/v1/adapters", {"file": upload}, format="multipart").json()["id"]
    response = client.post(f"/api/v1/adapters/{adapter_id}/activate")
    assert response.status_code == 400 and "only a ready adapter" in response.json()["detail"]
    response = client.post("/api/v1/adapters/rollback", {}, format="json")
    assert response.status_code == 200 and response.json() == {"active": None}
    history = client.get("/api/v1/adapters/active").json()["history"]
    assert history[0]["version"] is None and history[0]["note"] == "rollback to the base model"


def test_reviewer_cannot_start_a_run(shop, client):
    client.login(username=shop.reviewer.username, password=PASSWORD)
    response = client.post(f"/m/{shop.merchant.slug}/content/fine-tuning/", {"eval_fraction": 0.2})
    assert response.status_code == 403


def test_page_shows_counts_and_starts_a_run_from_an_upload(shop, client):
    client.login(username=shop.editor.username, password=PASSWORD)
    url = f"/m/{shop.merchant.slug}/content/fine-tuning/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Training data" in html and "at least 30 texts" in html and "No adapters yet." in html

    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    response = client.post(url, {"eval_fraction": 0.2, "max_steps": 3, "rank": 4, "file": upload})
    adapter = AdapterVersion.objects.get(merchant=shop.merchant)
    assert response.status_code == 302
    assert response["Location"] == f"/m/{shop.merchant.slug}/content/fine-tuning/{adapter.pk}/"
    assert adapter.training_settings["max_steps"] == 3 and adapter.training_settings["rank"] == 4

    detail = client.get(response["Location"])
    assert detail.status_code == 200 and 'hx-trigger="every 2s"' in detail.content.decode()
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<section id="adapter-run"')

    again = client.get(url).content.decode()
    assert "is training" in again and "v1" in again


def test_page_with_too_little_data_explains_the_minimum(shop, client):
    client.login(username=shop.editor.username, password=PASSWORD)
    response = client.post(f"/m/{shop.merchant.slug}/content/fine-tuning/", {"eval_fraction": 0.2})
    assert response.status_code == 400
    assert "at least 30 are needed" in response.content.decode()


def test_other_merchants_adapter_page_is_404(shop, other_shop, client):
    upload = io.BytesIO(_upload())
    upload.name = "past.jsonl"
    from contentgen.finetuning import services

    adapter = services.finetune_start(
        merchant=shop.merchant, upload=upload.read(), upload_name="a.jsonl"
    )
    client.login(username=other_shop.owner.username, password=PASSWORD)
    url = f"/m/{other_shop.merchant.slug}/content/fine-tuning/{adapter.pk}/"
    assert client.get(url).status_code == 404
