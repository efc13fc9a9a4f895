"""Worker faults with real Celery worker processes on the Redis broker and the test database.

- A worker killed with SIGKILL in the middle of a catalog import: the task was not acknowledged
  (acks_late), so after the broker's visibility timeout (5 s here, through the worker's
  CELERY_VISIBILITY_TIMEOUT) a new worker gets it again; the job starts over, completes, and the
  catalog has each product once (the killed attempt's transaction was rolled back; upserts are
  keyed by SKU).
- A job whose worker dies every time is not redelivered for ever: after MERCHLAB_JOB_MAX_ATTEMPTS
  starts it ends as failed with the reason, and the dashboard's job page shows it.
- A job that fails with an error (its uploaded file is gone) ends as failed with that error, shown
  on the job page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client

from merchandising.catalog.models import Product
from merchandising.catalog.services import product_import_submit
from merchandising.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 5
ROWS = 30_000  # long enough to be killed in the middle on a busy 2-core machine

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="worker processes must share the test database: needs PostgreSQL (CI uses it)",
    ),
]


class Workers:
    """Start and kill real worker processes serving the default queue."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        database = connection.settings_dict
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=(
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
            MERCHLAB_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            CELERY_TASK_ALWAYS_EAGER="0",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            **(extra_env or {}),
        )
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        name = f"reliability-{os.getpid()}-{len(self.processes)}@%h"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "merchandising", "worker", "-Q", "default"]
            + ["-c", "1", "--pool", "solo", "-n", name, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def workers_factory():
    from merchandising.celery import app

    app.conf.task_always_eager = False
    started: list[Workers] = []

    def make(**extra_env: str) -> Workers:
        workers = Workers(extra_env)
        started.append(workers)
        return workers

    yield make
    for workers in started:
        workers.stop_all()
    app.conf.task_always_eager = True


def big_csv(n: int = ROWS) -> bytes:
    rows = "".join(
        f"K-{i:06d},Killed product {i},{i % 500}.50,Brand {i % 40},tin\n" for i in range(n)
    )
    return ("sku,title,price,brand,material\n" + rows).encode()


def wait_until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def job_row(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def kill_while_running(workers: Workers, job_id: int, attempt: int) -> None:
    """Start a worker, let it get into the job (rows validated, upsert under way), SIGKILL it."""
    process = workers.start()
    wait_until(
        lambda: (j := job_row(job_id)).attempts >= attempt and j.progress >= 30,
        240,
        f"attempt {attempt} to start and validate the rows",
    )
    time.sleep(1.0)  # into the upsert (its progress is inside the import's transaction)
    assert not job_row(job_id).is_finished, "the import finished before the kill: make ROWS larger"
    workers.kill(process)
    # An unacknowledged message comes back once the visibility timeout has passed; a worker that
    # starts after that restores it when it connects.
    time.sleep(VISIBILITY_TIMEOUT + 1)


def job_page(shop, job_id: int) -> str:
    client = Client()
    client.force_login(shop.owner)
    response = client.get(f"/m/{shop.merchant.slug}/jobs/{job_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_worker_killed_mid_import_is_redelivered_and_completes_once(shop, workers_factory):
    workers = workers_factory()
    job = product_import_submit(merchant=shop.merchant, data=big_csv(), filename="big.csv")
    kill_while_running(workers, job.pk, attempt=1)
    assert job_row(job.pk).status == Job.Status.RUNNING  # the dead worker left it running

    workers.start()
    finished = wait_until(
        lambda: (j := job_row(job.pk)).is_finished and j, 300, "the redelivered import"
    )
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.attempts == 2 and finished.progress == 100
    result = finished.result
    assert result["created"] + result["updated"] + result["unchanged"] == ROWS
    skus = Product.objects.filter(merchant=shop.merchant)
    assert skus.count() == ROWS
    assert skus.values("sku").distinct().count() == ROWS
    assert "Imported 30,000 rows" in job_page(shop, job.pk)


def test_a_job_whose_worker_always_dies_ends_failed_and_shows_why(shop, workers_factory):
    workers = workers_factory(MERCHLAB_JOB_MAX_ATTEMPTS="2")
    job = product_import_submit(merchant=shop.merchant, data=big_csv(), filename="poison.csv")
    kill_while_running(workers, job.pk, attempt=1)
    kill_while_running(workers, job.pk, attempt=2)

    workers.start()
    finished = wait_until(lambda: (j := job_row(job.pk)).is_finished and j, 120, "the give-up")
    assert finished.status == Job.Status.FAILED
    assert finished.attempts == 2
    assert "Gave up after 2 attempts" in finished.error
    assert not Product.objects.filter(merchant=shop.merchant).exists()
    page = job_page(shop, job.pk)
    assert "Failed" in page and "Gave up after 2 attempts" in page


def test_a_failing_job_ends_failed_with_its_error_on_the_job_page(shop, workers_factory):
    workers = workers_factory()
    job = product_import_submit(merchant=shop.merchant, data=big_csv(10), filename="gone.csv")
    default_storage.delete(job.params["path"])  # the upload is lost before a worker gets to it
    workers.start()
    finished = wait_until(lambda: (j := job_row(job.pk)).is_finished and j, 120, "the failure")
    assert finished.status == Job.Status.FAILED
    assert "FileNotFoundError" in finished.error or "No such file" in finished.error
    page = job_page(shop, job.pk)
    assert "Failed" in page and "No such file" in page
