"""Worker faults with real Celery worker processes on the Redis broker and the test database.

- A worker killed with SIGKILL in the middle of a catalog import: the task was not acknowledged
  (acks_late), so after the broker's visibility timeout (5 s here, through the worker's
  CELERY_VISIBILITY_TIMEOUT) a new worker gets it again; the job starts over, completes, and the
  catalog has each product once (the killed attempt's transaction was rolled back; upserts are
  keyed by SKU).
- A job whose worker dies every time is not redelivered for ever: after MERCHLAB_JOB_MAX_ATTEMPTS
  starts it ends as failed with the reason, and the dashboard's job page shows it. Imports commit
  in batches of whole rows (issue 17: no long write lock), so what the killed attempts wrote is
  whole batches, and importing the same file again completes the catalog without duplicates.
- A job that fails with an error (its uploaded file is gone) ends as failed with that error, shown
  on the job page.
"""

from __future__ import annotations

import time

from django.core.files.storage import default_storage

from merchandising.catalog.models import Product
from merchandising.catalog.services import IMPORT_BATCH, product_import_csv, product_import_submit
from merchandising.jobs.models import Job
from tests.reliability.workers import (
    VISIBILITY_TIMEOUT,
    WORKER_TESTS,
    Workers,
    job_page,
    job_row,
    wait_until,
)

ROWS = 30_000  # long enough to be killed in the middle on a busy 2-core machine

pytestmark = WORKER_TESTS


def big_csv(n: int = ROWS) -> bytes:
    rows = "".join(
        f"K-{i:06d},Killed product {i},{i % 500}.50,Brand {i % 40},tin\n" for i in range(n)
    )
    return ("sku,title,price,brand,material\n" + rows).encode()


def kill_while_running(workers: Workers, job_id: int, attempt: int) -> None:
    """Start a worker, let it get into the job (rows validated, upsert under way), SIGKILL it."""
    process = workers.start()
    wait_until(
        lambda: (j := job_row(job_id)).attempts >= attempt and j.progress >= 30,
        240,
        f"attempt {attempt} to start and validate the rows",
        workers,
    )
    time.sleep(1.0)  # into the upsert (its progress is inside the import's transaction)
    assert not job_row(job_id).is_finished, "the import finished before the kill: make ROWS larger"
    workers.kill(process)
    # An unacknowledged message comes back once the visibility timeout has passed; a worker that
    # starts after that restores it when it connects.
    time.sleep(VISIBILITY_TIMEOUT + 1)


def test_worker_killed_mid_import_is_redelivered_and_completes_once(shop, workers_factory):
    workers = workers_factory()
    job = product_import_submit(merchant=shop.merchant, data=big_csv(), filename="big.csv")
    kill_while_running(workers, job.pk, attempt=1)
    assert job_row(job.pk).status == Job.Status.RUNNING  # the dead worker left it running

    workers.start()
    finished = wait_until(
        lambda: (j := job_row(job.pk)).is_finished and j, 300, "the redelivered import", workers
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
    finished = wait_until(
        lambda: (j := job_row(job.pk)).is_finished and j, 120, "the give-up", workers
    )
    assert finished.status == Job.Status.FAILED
    assert finished.attempts == 2
    assert "Gave up after 2 attempts" in finished.error
    written = Product.objects.filter(merchant=shop.merchant)
    assert written.count() % IMPORT_BATCH == 0 and written.count() < ROWS
    page = job_page(shop, job.pk)
    assert "Failed" in page and "Gave up after 2 attempts" in page

    # The merchant imports the same file again: every row once, nothing doubled.
    product_import_csv(merchant=shop.merchant, data=big_csv())
    assert written.count() == ROWS
    assert written.get(sku="K-000007").title == "Killed product 7"


def test_a_failing_job_ends_failed_with_its_error_on_the_job_page(shop, workers_factory):
    workers = workers_factory()
    job = product_import_submit(merchant=shop.merchant, data=big_csv(10), filename="gone.csv")
    default_storage.delete(job.params["path"])  # the upload is lost before a worker gets to it
    workers.start()
    finished = wait_until(
        lambda: (j := job_row(job.pk)).is_finished and j, 120, "the failure", workers
    )
    assert finished.status == Job.Status.FAILED
    assert "FileNotFoundError" in finished.error or "No such file" in finished.error
    page = job_page(shop, job.pk)
    assert "Failed" in page and "No such file" in page
