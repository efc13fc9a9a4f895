"""The ``workers_factory`` fixture: real worker processes that the test stops at its end."""

from __future__ import annotations

import pytest

from tests.reliability.workers import Workers


@pytest.fixture
def workers_factory(tmp_path):
    from merchandising.celery import app

    app.conf.task_always_eager = False
    started: list[Workers] = []

    def make(queue: str = "default", **extra_env: str) -> Workers:
        workers = Workers(extra_env, queue=queue, logs=tmp_path)
        started.append(workers)
        return workers

    yield make
    for workers in started:
        workers.stop_all()
    app.conf.task_always_eager = True
