"""A real Celery worker on the Redis broker runs a catalog import job to the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from merchandising.catalog.models import Product
from merchandising.catalog.services import product_import_submit
from merchandising.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the worker process must share the test database: needs PostgreSQL (CI uses it)",
    ),
]


@pytest.fixture
def worker(tmp_path):
    """A worker process serving the default queue, on the test database and a shared media dir."""
    from merchandising.celery import app

    app.conf.task_always_eager = False
    database = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env["MERCHLAB_MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    queue = f"default-{os.getpid()}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "merchandising",
            "worker",
            "-Q",
            "default",
            "-c",
            "1",
            "--pool",
            "solo",
            "-n",
            f"test-{os.getpid()}@%h",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    app.conf.task_always_eager = True
    del queue


def wait_for(job_id: int, seconds: float = 120) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {Job.objects.get(pk=job_id).__dict__}")


def test_worker_imports_a_catalog(shop, worker):
    rows = "".join(f"W-{i},Worker product {i},{i}.50\n" for i in range(500))
    job = product_import_submit(
        merchant=shop.merchant, data=("sku,title,price\n" + rows).encode(), filename="w.csv"
    )
    finished = wait_for(job.pk)
    assert finished.status == "succeeded", finished.error
    assert finished.progress == 100 and finished.result["created"] == 500
    assert Product.objects.filter(merchant=shop.merchant).count() == 500
