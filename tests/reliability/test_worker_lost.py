"""A job's status tells the truth when its worker dies (issue 17): a real worker is killed with
SIGKILL in the middle of a job; its heartbeat stops, and the reaper (the `jobs.reap_lost` beat
task) puts the job back in the queue with the reason on its page, "Worker lost, waiting to retry
(attempt 2 of 3)", and sends its task again. A new worker then runs it once, even though the
broker also redelivers the original message. A job whose worker is lost on its last attempt
fails with that reason. On Redis (the worker tests' broker) and on the demo's embedded broker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from merchandising.catalog.models import Product
from merchandising.catalog.services import product_import_submit
from merchandising.jobs.models import Job
from merchandising.jobs.tasks import reap_lost_jobs
from tests.reliability.demo_stack import DemoStack
from tests.reliability.test_worker_faults import ROWS, big_csv, kill_while_running
from tests.reliability.workers import LOST_AFTER, WORKER_TESTS, job_page, job_row, wait_until


def on_redis_workers(test):
    """The marks of the Redis + PostgreSQL worker tests (this module also has a demo-stack test)."""
    for mark in WORKER_TESTS:
        test = mark(test)
    return test


@on_redis_workers
def test_a_killed_workers_job_is_shown_as_lost_requeued_and_completed_once(
    shop, workers_factory, settings
):
    settings.MERCHLAB_JOB_LOST_AFTER_SECONDS = LOST_AFTER
    workers = workers_factory()
    job = product_import_submit(merchant=shop.merchant, data=big_csv(), filename="big.csv")
    kill_while_running(workers, job.pk, attempt=1)  # waits longer than LOST_AFTER
    assert job_row(job.pk).status == Job.Status.RUNNING  # what the dead worker left

    assert reap_lost_jobs() == {"requeued": [job.pk], "failed": []}
    lost = job_row(job.pk)
    assert lost.status == Job.Status.QUEUED and lost.attempts == 1
    page = job_page(shop, job.pk)
    assert "Worker lost, waiting to retry (attempt 2 of 3)." in page
    assert reap_lost_jobs() == {"requeued": [], "failed": []}  # a queued job is left alone

    workers.start()
    finished = wait_until(
        lambda: (j := job_row(job.pk)).is_finished and j, 300, "the requeued import", workers
    )
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2  # the reaper's copy and the redelivered message: one run
    assert Product.objects.filter(merchant=shop.merchant).count() == ROWS
    assert "Imported 30,000 rows" in job_page(shop, job.pk)


@pytest.mark.django_db
def test_a_job_whose_worker_is_lost_on_its_last_attempt_fails_with_the_reason(shop, settings):
    stale = timezone.now() - timedelta(seconds=settings.MERCHLAB_JOB_LOST_AFTER_SECONDS + 5)
    job = Job.objects.create(
        merchant=shop.merchant,
        kind="catalog_import",
        status=Job.Status.RUNNING,
        attempts=settings.MERCHLAB_JOB_MAX_ATTEMPTS,
        task="catalog.import",
        worker="gone",
        started_at=stale,
        heartbeat_at=stale,
    )
    alive = Job.objects.create(
        merchant=shop.merchant,
        kind="segments",
        status=Job.Status.RUNNING,
        attempts=1,
        task="segments.discover",
        worker="alive",
        started_at=stale,
        heartbeat_at=timezone.now(),
    )
    assert reap_lost_jobs() == {"requeued": [], "failed": [job.pk]}
    failed = job_row(job.pk)
    assert failed.status == Job.Status.FAILED
    assert "worker running this job stopped" in failed.error
    assert "worker running this job stopped" in job_page(shop, job.pk)
    assert job_row(alive.pk).status == Job.Status.RUNNING


REAP = """
import json
from merchandising.jobs.tasks import reap_lost_jobs
print("REAP" + json.dumps(reap_lost_jobs()))
"""


@pytest.mark.integration
def test_on_the_embedded_broker_a_lost_job_is_requeued_and_completed(tmp_path):
    """The demo's stack (SQLite, file-system broker): the broker deletes a message when a worker
    takes it, so after a SIGKILL nothing but the reaper brings the job back."""
    stack = DemoStack(
        tmp_path, MERCHLAB_JOB_HEARTBEAT_SECONDS="1", MERCHLAB_JOB_LOST_AFTER_SECONDS="4"
    )
    try:
        stack.setup()
        url = stack.start_web()
        busy = {"Authorization": f"Bearer {stack.keys['busy_secret']}"}
        worker = stack.start_worker()
        job_id = requests.post(f"{url}/api/v1/segments/discover", headers=busy, timeout=120).json()[
            "id"
        ]

        def job() -> dict:
            return requests.get(f"{url}/api/v1/jobs/{job_id}", headers=busy, timeout=120).json()

        wait_until(
            lambda: job()["status"] == "running",
            300,
            "the worker to start the job\n" + stack.logs(),
        )
        stack.kill(worker)
        assert job()["status"] == "running"  # what the dead worker left
        time.sleep(5)  # longer than LOST_AFTER: the heartbeat is stale
        assert stack.shell(REAP, "REAP") == {"requeued": [job_id], "failed": []}
        lost = job()
        assert lost["status"] == "queued"
        assert lost["message"] == "Worker lost, waiting to retry (attempt 2 of 3)."

        stack.start_worker()
        done = wait_until(
            lambda: (j := job())["status"] in ("succeeded", "failed", "cancelled") and j,
            600,
            "the requeued discovery\n" + stack.logs(),
        )
        assert done["status"] == "succeeded", (done, stack.logs())
        assert done["attempts"] == 2
    finally:
        stack.stop_all()
