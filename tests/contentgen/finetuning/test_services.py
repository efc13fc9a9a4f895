"""Registry and jobs: a merchant fine-tunes, sees base vs adapter, activates, rolls back."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from contentgen.finetuning import selectors, services
from contentgen.finetuning.models import AdapterVersion
from merchandising.jobs.models import Job

COLORS = ["red", "blue", "green", "black", "white", "grey", "pink", "teal", "gold", "navy"]
BRANDS = ["Acme", "Borek", "Calder", "Dunmore"]
FAST = {"max_steps": 4, "batch_size": 8, "learning_rate": 0.02, "warmup_ratio": 0.0}


def _upload(n: int = 34) -> bytes:
    lines = []
    for i in range(n):
        facts = {
            "sku": f"K{i}",
            "title": f"Copper Kettle {BRANDS[i % 4]} {COLORS[i % 10]} model {i}",
            "brand": BRANDS[i % 4],
            "category": "Kitchen > Kettles",
            "attributes": {"material": "copper", "color": COLORS[i % 10]},
        }
        text = f"{BRANDS[i % 4]} Copper Kettle in {COLORS[i % 10].title()}"
        lines.append(json.dumps({"product": facts, "kind": "seo_title", "text": text}))
    lines.append(
        json.dumps({"product": {"title": "Kettle"}, "kind": "seo_title", "text": "x" * 90})
    )
    return ("\n".join(lines) + "\n").encode()


def _train(shop, model_dir, django_capture_on_commit_callbacks, **kwargs) -> AdapterVersion:
    with django_capture_on_commit_callbacks(execute=True):
        adapter = services.finetune_start(
            merchant=shop.merchant,
            user=shop.editor,
            training_settings=kwargs.pop("training_settings", FAST),
            model=model_dir,
            upload=_upload(),
            upload_name="past-copy.jsonl",
            eval_samples=kwargs.pop("eval_samples", 3),
            **kwargs,
        )
    adapter.refresh_from_db()
    return adapter


def test_too_few_examples_are_refused_with_the_minimum(shop):
    with pytest.raises(ValidationError, match="at least 30 are needed"):
        services.finetune_start(merchant=shop.merchant, upload=_upload(5), upload_name="a.jsonl")
    assert not AdapterVersion.objects.exists()


def test_unknown_setting_is_refused(shop):
    with pytest.raises(ValidationError, match="Unknown fine-tuning settings: rnak"):
        services.finetune_start(
            merchant=shop.merchant,
            training_settings={"rnak": 4},
            upload=_upload(),
            upload_name="a.jsonl",
        )


def test_fine_tune_job_reports_base_vs_adapter_and_stores_the_adapter(
    shop, tiny_model_dir, django_capture_on_commit_callbacks
):
    adapter = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks)
    job = Job.objects.get(pk=adapter.job_id)
    assert job.queue == "gpu" and job.kind == "finetune"
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert adapter.status == AdapterVersion.Status.READY and adapter.version == 1
    assert adapter.progress["step"] == adapter.progress["total"] == 4
    assert adapter.metrics["base"]["eval_loss"] > adapter.metrics["adapter"]["eval_loss"]
    assert adapter.metrics["adapter"]["guard_pass_rate"] is not None
    assert adapter.data["left_out"] == {"failed_guards": 1}
    assert adapter.data_size == 34 and adapter.data["eval"] >= 6
    assert "adapter_config.json" in adapter.artifact_files
    assert default_storage.exists(f"{adapter.artifact_prefix}/adapter_model.safetensors")
    assert not adapter.is_active and selectors.active_adapter_path(shop.merchant) is None
    assert "held-out loss" in job.message


def test_activation_and_rollback_change_what_generation_uses(
    shop, tiny_model_dir, django_capture_on_commit_callbacks
):
    from contentgen import backends

    first = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks)
    services.adapter_activate(merchant=shop.merchant, adapter_id=first.pk, user=shop.owner)
    path = selectors.active_adapter_path(shop.merchant)
    assert path and (selectors.cache_root() / str(shop.merchant.pk)).exists()

    prompts = [
        "<|im_start|>user\nWrite an SEO title: Copper Kettle<|im_end|>\n<|im_start|>assistant\n"
    ]
    with_adapter = backends.load_backend(tiny_model_dir, adapter=path)
    assert with_adapter.adapter == path
    tuned = [
        g.text for g in with_adapter.generate(prompts, [7], max_new_tokens=12, temperature=0.01)
    ]
    base = backends.load_backend(tiny_model_dir, adapter=None)
    plain = [g.text for g in base.generate(prompts, [7], max_new_tokens=12, temperature=0.01)]
    assert tuned != plain

    second = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks)
    services.adapter_activate(merchant=shop.merchant, adapter_id=second.pk, user=shop.owner)
    assert selectors.active_adapter(shop.merchant).version == 2
    assert selectors.active_adapter_path(shop.merchant) != path

    services.adapter_rollback(merchant=shop.merchant, user=shop.owner, to_adapter_id=first.pk)
    assert selectors.active_adapter(shop.merchant).version == 1
    assert selectors.active_adapter_path(shop.merchant) == path

    services.adapter_rollback(merchant=shop.merchant, user=shop.owner)
    assert selectors.active_adapter(shop.merchant) is None
    assert selectors.active_adapter_path(shop.merchant) is None
    history = selectors.activation_history(shop.merchant)
    assert [h.adapter.version if h.adapter else None for h in history] == [None, 1, 2, 1]
    first.refresh_from_db()
    assert first.activated_by == shop.owner and first.activated_at is not None
    backends.clear_cache()


def test_auto_activation_when_better_on_held_out(
    shop, tiny_model_dir, django_capture_on_commit_callbacks
):
    adapter = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks, auto_activate=True)
    assert adapter.is_better and adapter.is_active
    assert selectors.activation_history(shop.merchant)[0].automatic


def test_registry_isolates_merchants(
    shop, other_shop, tiny_model_dir, django_capture_on_commit_callbacks
):
    adapter = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks)
    assert not selectors.adapter_list(other_shop.merchant).exists()
    with pytest.raises(AdapterVersion.DoesNotExist):
        selectors.adapter_get(other_shop.merchant, adapter.pk)
    with pytest.raises(AdapterVersion.DoesNotExist):
        services.adapter_activate(merchant=other_shop.merchant, adapter_id=adapter.pk)
    services.adapter_activate(merchant=shop.merchant, adapter_id=adapter.pk)
    assert selectors.active_adapter_path(other_shop.merchant) is None


def test_an_adapter_of_another_base_model_is_refused_with_the_reason(
    shop, tiny_model_dir, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.contentgen.conftest import build_tiny_checkpoint

    adapter = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks)
    services.adapter_activate(merchant=shop.merchant, adapter_id=adapter.pk)
    assert selectors.active_adapter_path(shop.merchant)

    # the workers now load another model (same shapes, other weights)
    settings.CONTENTGEN_BASE_MODEL = build_tiny_checkpoint(tmp_path / "other-model")
    with pytest.raises(ValidationError) as refused:
        services.adapter_activate(merchant=shop.merchant, adapter_id=adapter.pk)
    message = " ".join(refused.value.messages)
    assert f"trained on the base model {tiny_model_dir!r}" in message
    assert "other-model" in message and "train a new adapter" in message
    # generation does not apply the stale adapter to the other model
    assert selectors.active_adapter_path(shop.merchant) is None

    # the same model spelled another way (a trailing slash) is the same model
    settings.CONTENTGEN_BASE_MODEL = tiny_model_dir + "/"
    services.adapter_activate(merchant=shop.merchant, adapter_id=adapter.pk)
    assert selectors.active_adapter_path(shop.merchant)


def test_auto_activation_skips_an_adapter_of_another_base_model(
    shop, tiny_model_dir, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.contentgen.conftest import build_tiny_checkpoint

    settings.CONTENTGEN_BASE_MODEL = build_tiny_checkpoint(tmp_path / "worker-model")
    adapter = _train(shop, tiny_model_dir, django_capture_on_commit_callbacks, auto_activate=True)
    assert adapter.status == AdapterVersion.Status.READY and adapter.is_better
    assert not adapter.is_active
    assert "Not activated automatically" in Job.objects.get(pk=adapter.job_id).message


def test_a_second_run_while_one_is_training_is_refused(shop):
    services.finetune_start(merchant=shop.merchant, upload=_upload(), upload_name="a.jsonl")
    with pytest.raises(ValidationError, match="already in progress"):
        services.finetune_start(merchant=shop.merchant, upload=_upload(), upload_name="a.jsonl")


def test_cancelled_before_it_starts(shop, django_capture_on_commit_callbacks):
    from merchandising.jobs.services import job_cancel

    adapter = services.finetune_start(
        merchant=shop.merchant, upload=_upload(), upload_name="a.jsonl"
    )
    job_cancel(merchant=shop.merchant, job_id=adapter.job_id)
    assert Job.objects.get(pk=adapter.job_id).status == Job.Status.CANCELLED
    adapter.refresh_from_db()
    assert adapter.display_status == "cancelled"
    again = services.finetune_start(merchant=shop.merchant, upload=_upload(), upload_name="a.jsonl")
    assert again.version == 2
