"""Real Celery worker processes for the worker-fault tests: started on the test database, the
Redis broker and the test's media folder, killed with SIGKILL, their logs kept for failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from merchandising.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 5
# Heartbeats every second; a job silent for LOST_AFTER seconds lost its worker (shorter than the
# visibility timeout, so a redelivered message finds the killed attempt's job free to claim).
LOST_AFTER = 4


class Workers:
    """Start and kill real worker processes serving one queue (``default`` or ``gpu``)."""

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        queue: str = "default",
        logs: Path | None = None,
    ) -> None:
        database = connection.settings_dict
        self.queue = queue
        self.logs = logs
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=(
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
            MERCHLAB_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            CELERY_TASK_ALWAYS_EAGER="0",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            MERCHLAB_JOB_HEARTBEAT_SECONDS="1",
            MERCHLAB_JOB_LOST_AFTER_SECONDS=str(LOST_AFTER),
            **(extra_env or {}),
        )
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        name = f"reliability-{os.getpid()}-{id(self)}-{len(self.processes)}@%h"
        log = open(self.log_path(len(self.processes)), "wb") if self.logs else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "merchandising", "worker", "-Q", self.queue]
            + ["-c", "1", "--pool", "solo", "-n", name, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if self.logs:
            log.close()
        self.processes.append(process)
        return process

    def log_path(self, index: int) -> Path:
        return self.logs / f"worker-{self.queue}-{id(self)}-{index}.log"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of each worker's log, for the message of a failed wait."""
        if not self.logs:
            return ""
        parts = []
        for index in range(len(self.processes)):
            text = self.log_path(index).read_text(errors="replace")
            parts.append(f"--- worker {index} ---\n{text[-chars:]}")
        return "\n".join(parts)

    def kill(self, process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


WORKER_TESTS = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="worker processes must share the test database: needs PostgreSQL (CI uses it)",
    ),
]


def wait_until(predicate, seconds: float, what: str, workers: Workers | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = workers.log_tail() if workers else ""
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}\n{logs}")


def job_row(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def job_page(shop, job_id: int) -> str:
    client = Client()
    client.force_login(shop.owner)
    response = client.get(f"/m/{shop.merchant.slug}/jobs/{job_id}/")
    assert response.status_code == 200
    return response.content.decode()
