"""The embedded database under concurrent use (issue 17, finding 5): the demo's default stack
(SQLite, the file-system broker, the file cache) as separate processes, a web server and a real
worker. While the worker runs one merchant's segment discovery over tens of thousands of events,
another merchant's storefront events and a sign-in are answered (not "database is locked", not
after the job): the database is in WAL mode and the job writes in short transactions."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.reliability.demo_stack import PASSWORD, DemoStack


@pytest.fixture
def demo_stack(tmp_path):
    """migrate + seed on a fresh SQLite file, then runserver and a default-queue worker."""
    stack = DemoStack(tmp_path)
    stack.setup()
    stack.start_web()
    stack.start_worker()
    yield stack.url, stack.keys, stack
    stack.stop_all()


def sign_in(url: str, username: str) -> int:
    with requests.Session() as session:
        page = session.get(f"{url}/login/", timeout=120)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = session.post(
            f"{url}/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{url}/login/"},
            allow_redirects=False,
            timeout=120,
        )
        return answer.status_code


@pytest.mark.integration
def test_requests_are_served_while_a_long_job_writes_to_sqlite(demo_stack):
    url, keys, stack = demo_stack
    assert keys["journal_mode"] == "wal"
    busy = {"Authorization": f"Bearer {keys['busy_secret']}"}
    job = requests.post(f"{url}/api/v1/segments/discover", headers=busy, timeout=120)
    assert job.status_code == 202, job.text
    job_url = f"{url}/api/v1/jobs/{job.json()['id']}"

    def job_status() -> dict:
        return requests.get(job_url, headers=busy, timeout=120).json()

    for _ in range(3000):  # wait for the worker to pick it up
        if job_status()["status"] != "queued":
            break
        time.sleep(0.1)

    served_while_running = []
    answers = []
    n = 0
    while (state := job_status())["status"] == "running":
        n += 1
        events = requests.post(
            f"{url}/api/v1/storefront/events",
            json={"events": [{"event_id": f"q{n}", "type": "view", "visitor_id": f"q{n % 5}"}]},
            headers={"X-Storefront-Key": keys["quiet_public"]},
            timeout=120,
        )
        signed_in = sign_in(url, "quiet-owner")
        answers.append((events.status_code, signed_in))
        after = job_status()
        if after["status"] == "running":
            served_while_running.append((state["progress"], after["progress"]))
    final = job_status()
    worker_log = stack.logs()
    assert final["status"] == "succeeded", (final, worker_log)
    assert answers and all(a == (200, 302) for a in answers), answers
    # Writes were answered during the job, not queued behind its end.
    assert len(served_while_running) >= 3, (served_while_running, answers, worker_log)
