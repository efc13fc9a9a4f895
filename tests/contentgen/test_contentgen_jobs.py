"""Generation jobs end to end on the tiny model: API, Job progress, drafts, idempotency, cancellation, failure."""

import json

import pytest

from contentgen import services
from contentgen.models import BrandVoice, CopyDraft
from contentgen.specs import get_spec
from merchandising.catalog.models import LiveCopy
from merchandising.jobs.models import Job
from merchandising.jobs.services import job_cancel, job_report


@pytest.fixture
def tiny_settings(settings, tiny_checkpoint):
    settings.CONTENTGEN_BASE_MODEL = tiny_checkpoint
    settings.CONTENTGEN_MAX_NEW_TOKENS = 8
    settings.CONTENTGEN_BATCH_SIZE = 8
    return settings


def post_generation(api, shop, payload, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return api.as_key(shop.secret_key).post("/api/v1/generation-jobs", payload, format="json")


def test_generate_from_api_writes_pending_drafts_and_never_live_copy(
    api, shop, products, tiny_settings, django_capture_on_commit_callbacks
):
    live_before = {(c.product_id, c.field): c.value for c in LiveCopy.objects.all()}
    response = post_generation(
        api,
        shop,
        {
            "skus": [products[0].sku, products[1].sku],
            "kinds": ["seo_title", "ad_headlines"],
            "variants": 2,
        },
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.queue == "gpu" and job.kind == "copy_generation"
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.progress == 100 and "drafts" in job.message
    drafts = CopyDraft.objects.filter(job=job)
    assert drafts.count() == 2 * 2 * 2
    assert set(drafts.values_list("status", flat=True)) == {"pending"}
    headline = drafts.filter(kind="ad_headline").first()
    assert headline.field == "ad_headlines" and isinstance(headline.text, list)
    assert all({"code", "severity", "message"} <= set(f) for d in drafts for f in d.flags)
    assert job.result["drafts"] == 8 and job.result["model"]
    assert {(c.product_id, c.field): c.value for c in LiveCopy.objects.all()} == live_before


def test_generation_request_by_category_or_all(shop, products, tiny_settings):
    job = services.generation_request(merchant=shop.merchant, kinds="seo_title", category="Kitchen")
    assert len(job.params["product_ids"]) == 3
    job = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], all_products=True
    )
    assert job.params["kinds"] == ["seo_title"]


def test_unknown_or_other_merchants_skus_are_refused_by_name(api, shop, other_shop, products):
    from merchandising.catalog.services import product_bulk_upsert

    product_bulk_upsert(
        merchant=other_shop.merchant, items=[{"sku": "THEIRS-1", "title": "x", "price": "1"}]
    )
    response = api.as_key(shop.secret_key).post(
        "/api/v1/generation-jobs", {"skus": ["THEIRS-1"], "kinds": ["seo_title"]}, format="json"
    )
    assert response.status_code == 400
    assert "THEIRS-1" in response.json()["detail"]
    assert not Job.objects.filter(merchant=shop.merchant).exists()


def test_bad_kind_and_ambiguous_selection_are_400(api, shop, products):
    client = api.as_key(shop.secret_key)
    r = client.post("/api/v1/generation-jobs", {"all": True, "kinds": ["poem"]}, format="json")
    assert r.status_code == 400 and "poem" in r.json()["detail"]
    r = client.post("/api/v1/generation-jobs", {"all": True, "category": "Kitchen"}, format="json")
    assert r.status_code == 400


def test_rerunning_the_same_job_does_not_duplicate_drafts(shop, products, tiny_settings):
    job = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], skus=[products[0].sku], variants=2
    )
    result = services.generation_run(job=job, report=lambda p, m="": None)
    first = list(CopyDraft.objects.filter(job=job).order_by("variant").values_list("id", "text"))
    # a redelivered task: half done, run again
    CopyDraft.objects.filter(job=job, variant=1).delete()
    CopyDraft.objects.filter(job=job).update(text="changed")
    services.generation_run(job=job, report=lambda p, m="": None)
    assert CopyDraft.objects.filter(job=job).count() == 2
    assert result["drafts"] == 2
    # a full re-run rewrites the same rows with the same seeds
    CopyDraft.objects.filter(job=job).delete()
    services.generation_run(job=job, report=lambda p, m="": None)
    again = list(
        CopyDraft.objects.filter(job=job).order_by("variant").values_list("text", flat=True)
    )
    assert again == [t for _, t in first]


def test_newer_generation_supersedes_older_pending_drafts(shop, products, tiny_settings):
    sku = products[0].sku
    old = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], skus=[sku], variants=1
    )
    services.generation_run(job=old, report=lambda p, m="": None)
    # As the runner records it: an unfinished identical request would get the old job back.
    Job.objects.filter(pk=old.pk).update(status=Job.Status.SUCCEEDED)
    new = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], skus=[sku], variants=1
    )
    services.generation_run(job=new, report=lambda p, m="": None)
    assert CopyDraft.objects.get(job=old).status == "superseded"
    assert CopyDraft.objects.get(job=new).status == "pending"


def test_cancelling_stops_the_job_between_products(shop, products, tiny_settings):
    from merchandising.jobs.runner import run_job

    job = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], all_products=True, variants=1
    )
    calls = []

    def work(job, report):
        def cancelling_report(progress, message=""):
            calls.append(progress)
            if len(calls) == 3:  # the user presses Cancel after the first product
                job_cancel(merchant=shop.merchant, job_id=job.pk)
            job_report(job=job, progress=progress, message=message)

        return services.generation_run(job=job, report=cancelling_report)

    run_job(job.pk, work)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert 0 < CopyDraft.objects.filter(job=job).count() < 3


def test_a_model_that_cannot_load_fails_the_job_with_a_clear_message(
    api, shop, products, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CONTENTGEN_BASE_MODEL = str(tmp_path / "missing-model")
    response = post_generation(
        api, shop, {"all": True, "kinds": ["seo_title"]}, django_capture_on_commit_callbacks
    )
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.FAILED
    assert "Could not load model" in job.error and "missing-model" in job.error
    assert "Traceback" not in job.error


def test_brand_voice_api_round_trip_and_reviewer_cannot_change_it(api, shop):
    client = api.as_key(shop.secret_key)
    r = client.put(
        "/api/v1/brand-voice",
        {"tone": "premium", "avoid_words": ["cheap", "cheap", "deal"], "language": "en"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert client.get("/api/v1/brand-voice").json()["avoid_words"] == ["cheap", "deal"]
    api.credentials()
    api.force_authenticate(shop.reviewer)
    r = api.put(
        "/api/v1/brand-voice",
        {"tone": "playful"},
        format="json",
        HTTP_X_MERCHANT=shop.merchant.slug,
    )
    assert r.status_code == 403


def test_approved_examples_are_kept_newest_per_kind_with_their_category(shop):
    keep = BrandVoice.MAX_EXAMPLES_PER_KIND
    for i in range(keep + 2):
        services.brand_voice_add_example(
            merchant=shop.merchant,
            kind="seo_title",
            text=f"Title {i}",
            category="Kitchen > Mugs",
            sku=f"M-{i}",
        )
    voice = BrandVoice.objects.get(merchant=shop.merchant)
    kept = [e for e in voice.examples if e["kind"] == "seo_title"]
    assert [e["text"] for e in kept] == [f"Title {i}" for i in range(2, keep + 2)]
    assert kept[-1]["category"] == "Kitchen > Mugs" and kept[-1]["sku"] == f"M-{keep + 1}"


def test_generate_copy_command_writes_jsonl_without_the_database(tiny_checkpoint, tmp_path, capsys):
    from django.core.management import call_command

    products = tmp_path / "products.csv"
    products.write_text(
        "sku,title,brand,price,Material\nK-1,Copper kettle,Acme,39.90,copper\nB-1,Mystery box,,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    call_command(
        "generate_copy",
        "--products",
        str(products),
        "--kinds",
        "seo_title,ad_headline",
        "--model",
        tiny_checkpoint,
        "--max-new-tokens",
        "8",
        "--max-attempts",
        "1",
        "--out",
        str(out),
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["sku"], x["kind"]) for x in lines] == [
        ("K-1", "seo_title"),
        ("K-1", "ad_headline"),
        ("B-1", "seo_title"),
        ("B-1", "ad_headline"),
    ]
    assert len(lines[0]["variants"]) == get_spec("seo_title").variants
    assert {"text", "passed", "flags", "coverage"} <= set(lines[0]["variants"][0])
    assert any(f["code"] == "thin_product" for f in lines[2]["variants"][0]["flags"])
    summary = capsys.readouterr().out
    assert (
        "products=2" in summary
        and "products_per_minute=" in summary
        and "guard_pass_rate=" in summary
    )


def test_drafts_saved_without_a_job_wait_for_review(shop, products):
    from contentgen.generation import CopyResult, Variant

    def result(text):
        variant = Variant(
            index=0, text=text, passed=True, flags=[], coverage=1.0, seed=1, attempts=1
        )
        return CopyResult(key=products[0].sku, kind="seo_title", variants=[variant], thin=False)

    kwargs = {"merchant": shop.merchant, "product": products[0], "job": None, "model_id": "m"}
    services.drafts_save(result=result("First title"), **kwargs)
    services.drafts_save(result=result("Second title"), **kwargs)
    pending = CopyDraft.objects.filter(product=products[0], kind="seo_title", status="pending")
    assert [d.text for d in pending] == ["Second title"]


def _stop_on_call(n: int):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= n

    return should_stop, calls


def test_the_backend_stops_within_one_decoding_step_of_the_stop_signal(tiny_backend):
    from contentgen.backends import GenerationStopped

    should_stop, calls = _stop_on_call(3)  # asked before the batch, then after every step
    with pytest.raises(GenerationStopped):
        tiny_backend.generate(
            ["Write a title for a mug."] * 4,
            [1, 2, 3, 4],
            max_new_tokens=64,
            should_stop=should_stop,
        )
    assert len(calls) == 3  # not asked again: decoding ended at the step it said stop


def test_cancel_during_decoding_ends_the_job_without_finishing_the_chunk(
    shop, products, tiny_settings
):
    from merchandising.jobs.runner import run_job

    tiny_settings.CONTENTGEN_BATCH_SIZE = 64  # every field in one chunk (as 16 fields by default)
    tiny_settings.CONTENTGEN_MAX_NEW_TOKENS = 64
    job = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], all_products=True, variants=1
    )

    def work(job, report):
        def cancelling_report(progress, message=""):
            job_report(job=job, progress=progress, message=message)
            if message.startswith("Generating"):  # decoding starts next: the user cancels
                job_cancel(merchant=shop.merchant, job_id=job.pk)

        return services.generation_run(job=job, report=cancelling_report)

    run_job(job.pk, work)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert CopyDraft.objects.filter(job=job).count() == 0  # the chunk was not decoded to its end


def test_cancel_keeps_the_drafts_already_finished(shop, products, tiny_settings):
    from merchandising.jobs.services import JobCancelled

    tiny_settings.CONTENTGEN_BATCH_SIZE = 4  # 4 candidates: one field per chunk
    job = services.generation_request(
        merchant=shop.merchant, kinds=["seo_title"], all_products=True, variants=1
    )

    def report(progress, message=""):  # records nothing itself: only the decoder can stop
        if message.startswith("1 of 3"):
            job_cancel(merchant=shop.merchant, job_id=job.pk)

    with pytest.raises(JobCancelled):
        services.generation_run(job=job, report=report)
    drafts = CopyDraft.objects.filter(job=job)
    assert drafts.count() == 1 and drafts.get().sku == products[0].sku
