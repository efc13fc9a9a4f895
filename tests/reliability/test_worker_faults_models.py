"""Worker faults in the model jobs, with real Celery worker processes on Redis and the test database.

A worker is killed with SIGKILL while the job is demonstrably in the middle of its work, a new
worker gets the unacknowledged message after the broker's visibility timeout, and the job completes
without duplicates:

- copy generation (gpu queue, a tiny random Llama on CPU): killed once the first drafts are saved;
  the second attempt keeps them as they are, writes the rest, and each product has one draft;
- fine-tuning (gpu queue): killed after a checkpoint was written; the second attempt resumes from
  that checkpoint, not from step 0, and there is one adapter version;
- recommender training (default queue): killed during the training epochs; one model version.

A redelivery that finds the model version of its job already registered (the worker died between
registering it and finishing the job) finishes the job with that version instead of training again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contentgen.finetuning import services as finetuning
from contentgen.finetuning.models import AdapterVersion
from contentgen.finetuning.training import latest_checkpoint
from contentgen.models import CopyDraft
from contentgen.services import generation_request
from merchandising.catalog.services import product_bulk_upsert
from merchandising.jobs.models import Job
from merchandising.tracking.models import Event
from merchandising.tracking.services import events_ingest
from recsys import services as recsys
from recsys.models import ModelVersion
from recsys.tasks import recommender_train_task
from tests.conftest import product_rows
from tests.reliability.workers import (
    VISIBILITY_TIMEOUT,
    WORKER_TESTS,
    Workers,
    job_page,
    job_row,
    wait_until,
)

GENERATED_PRODUCTS = 16
FINETUNE_STEPS = 24
TRAINING_EPOCHS = 400

pytestmark = WORKER_TESTS


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory) -> str:
    from tests.contentgen.conftest import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


def restart_after_kill(workers: Workers, job_id: int) -> Job:
    """The killed worker left the job running; a new worker, started after the visibility
    timeout, gets the message again and finishes the job."""
    left = job_row(job_id)
    assert left.status == Job.Status.RUNNING and left.attempts == 1
    time.sleep(VISIBILITY_TIMEOUT + 1)
    workers.start()
    return wait_until(
        lambda: (j := job_row(job_id)).is_finished and j, 300, "the redelivered job", workers
    )


def test_worker_killed_mid_generation_resumes_without_duplicate_drafts(
    shop, workers_factory, tiny_model_path
):
    product_bulk_upsert(
        merchant=shop.merchant, items=product_rows(GENERATED_PRODUCTS, prefix="GEN")
    )
    workers = workers_factory(
        "gpu",
        CONTENTGEN_BASE_MODEL=tiny_model_path,
        CONTENTGEN_MAX_NEW_TOKENS="8",
        CONTENTGEN_BATCH_SIZE="2",
    )
    job = generation_request(
        merchant=shop.merchant, kinds=["seo_title"], all_products=True, variants=1
    )
    process = workers.start()
    drafts = CopyDraft.objects.filter(job_id=job.pk)
    wait_until(drafts.exists, 240, "the first drafts", workers)
    workers.kill(process)
    before = dict(drafts.values_list("pk", "text"))
    assert 0 < len(before) < GENERATED_PRODUCTS
    assert job_row(job.pk).progress > 0

    finished = restart_after_kill(workers, job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2 and finished.progress == 100
    every = CopyDraft.objects.filter(merchant=shop.merchant)
    assert every.count() == GENERATED_PRODUCTS
    assert every.values("product_id").distinct().count() == GENERATED_PRODUCTS
    assert set(every.values_list("job_id", flat=True)) == {job.pk}
    # the drafts saved before the kill were kept as they were, not generated again
    assert dict(every.filter(pk__in=before).values_list("pk", "text")) == before
    assert finished.result["drafts"] == GENERATED_PRODUCTS
    assert f"{GENERATED_PRODUCTS} drafts for {GENERATED_PRODUCTS} products" in job_page(
        shop, job.pk
    )
    print(f"\ngeneration killed after {len(before)} of {GENERATED_PRODUCTS} drafts")


def past_copy(n: int = 40) -> bytes:
    colours = ["red", "blue", "green", "black", "white", "grey", "pink", "teal"]
    lines = []
    for i in range(n):
        colour = colours[i % len(colours)]
        facts = {
            "sku": f"FT-{i}",
            "title": f"Copper Kettle {colour} model {i}",
            "brand": "Acme",
            "attributes": {"material": "copper", "color": colour},
        }
        text = f"Acme Copper Kettle in {colour.title()}, model {i}"
        lines.append(json.dumps({"product": facts, "kind": "seo_title", "text": text}))
    return ("\n".join(lines) + "\n").encode()


def test_worker_killed_mid_fine_tuning_resumes_from_its_last_checkpoint(
    shop, workers_factory, tiny_model_path
):
    adapter = finetuning.finetune_start(
        merchant=shop.merchant,
        user=shop.editor,
        model=tiny_model_path,
        training_settings={
            "max_steps": FINETUNE_STEPS,
            "batch_size": 4,
            "checkpoint_every": 4,
            "learning_rate": 0.01,
            "warmup_ratio": 0.0,
        },
        upload=past_copy(),
        upload_name="past-copy.jsonl",
        eval_samples=0,
    )
    workers = workers_factory("gpu")
    process = workers.start()
    checkpoints = finetuning.work_dir(adapter) / "adapter"

    def checkpoint_step() -> int:
        found = latest_checkpoint(checkpoints)
        return int(found.name.split("-")[1]) if found else 0

    killed_after = wait_until(checkpoint_step, 240, "the first checkpoint", workers)
    workers.kill(process)
    adapter.refresh_from_db()
    assert adapter.status == AdapterVersion.Status.TRAINING
    assert adapter.progress["step"] < FINETUNE_STEPS
    job_id = adapter.job_id
    assert job_row(job_id).progress > 0

    finished = restart_after_kill(workers, job_id)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2
    adapter.refresh_from_db()
    assert adapter.status == AdapterVersion.Status.READY
    # resumed from a checkpoint at or after the one seen before the kill, and ran to the end
    assert adapter.metrics["resumed_from_step"] >= killed_after > 0
    assert adapter.metrics["steps"] == FINETUNE_STEPS
    assert AdapterVersion.objects.filter(merchant=shop.merchant).count() == 1
    assert f"Adapter v1 trained in {FINETUNE_STEPS} steps" in job_page(shop, job_id)
    print(
        f"\nfine-tuning killed after the checkpoint of step {killed_after}, resumed from step "
        f"{adapter.metrics['resumed_from_step']} of {FINETUNE_STEPS}"
    )


CATEGORIES = ["Garden > Tools", "Kitchen > Pans", "Toys > Puzzles", "Books > Novels"]


def shop_with_events(merchant, visitors: int = 200, per_visitor: int = 20) -> int:
    product_bulk_upsert(
        merchant=merchant,
        items=[
            {
                "sku": f"P-{i:03d}",
                "title": f"{CATEGORIES[i % 4].split(' > ')[1]} item {i}",
                "brand": f"brand-{i % 4}",
                "category": CATEGORIES[i % 4],
                "price": f"{10 + i}.00",
            }
            for i in range(32)
        ],
    )
    rng = np.random.RandomState(0)
    start = datetime.now(UTC) - timedelta(days=30)
    events = []
    for v in range(visitors):
        for j in range(per_visitor):
            item = int(rng.choice(range(v % 4, 32, 4))) if rng.rand() < 0.9 else rng.randint(32)
            events.append(
                {
                    "event_id": f"e-{v}-{j}",
                    "type": "purchase" if j % 5 == 4 else "view",
                    "visitor_id": f"v-{v}",
                    "sku": f"P-{item:03d}",
                    "ts": (start + timedelta(hours=j, minutes=v)).isoformat(),
                }
            )
    for i in range(0, len(events), 500):
        events_ingest(merchant=merchant, events=events[i : i + 500])
    return len(events)


def test_worker_killed_mid_training_completes_with_one_model_version(shop, workers_factory):
    sent = shop_with_events(shop.merchant)
    workers = workers_factory()
    job = recsys.recommender_train_submit(
        merchant=shop.merchant,
        config={"no_components": 32, "epochs": TRAINING_EPOCHS, "num_threads": 1},
    )
    process = workers.start()
    # progress 50-95 is the final model's epochs (after the hold-out evaluation)
    wait_until(lambda: job_row(job.pk).progress >= 55, 240, "the training epochs", workers)
    workers.kill(process)
    killed_at = job_row(job.pk).progress
    assert not ModelVersion.objects.filter(merchant=shop.merchant).exists()

    finished = restart_after_kill(workers, job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2
    version = ModelVersion.objects.get(merchant=shop.merchant)
    assert version.job_id == job.pk and version.is_active and version.version == 1
    assert Event.objects.filter(merchant=shop.merchant).count() == sent
    assert "Model v1 trained" in job_page(shop, job.pk)
    print(f"\ntraining killed at {killed_at}% ({TRAINING_EPOCHS} epochs)")


def test_a_redelivered_training_finds_its_registered_version_and_does_not_train_again(shop):
    """The worker died after the model version was registered but before the job was marked
    done: the redelivered task finishes the job with that version."""
    shop_with_events(shop.merchant, visitors=40, per_visitor=12)
    config = {"no_components": 8, "epochs": 4, "num_threads": 1}
    job = Job.objects.create(
        merchant=shop.merchant,
        kind=recsys.JOB_TRAIN,
        params={"config": config},
        status=Job.Status.RUNNING,
        attempts=1,
    )
    registered = recsys.recommender_train(merchant=shop.merchant, job=job, config=config)

    recommender_train_task.apply(args=[job.pk])

    finished = job_row(job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2
    assert list(ModelVersion.objects.filter(merchant=shop.merchant)) == [registered]
    assert finished.result["model_version_id"] == registered.pk
    assert "Model v1 trained" in job_page(shop, job.pk)
