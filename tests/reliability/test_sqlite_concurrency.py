"""The embedded database under concurrent use (issue 17, finding 5): the demo's default stack
(SQLite, the file-system broker, the file cache) as separate processes, a web server and a real
worker. While the worker runs one merchant's segment discovery over tens of thousands of events,
another merchant's storefront events and a sign-in are answered (not "database is locked", not
after the job): the database is in WAL mode and the job writes in short transactions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
VISITORS = 4000
EVENTS_PER_VISITOR = 12

SEED = f"""
import json, random
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from merchandising.accounts import services
from merchandising.catalog.services import product_bulk_upsert
from merchandising.tracking.models import Event

User = get_user_model()
keys = {{}}
for slug in ("busy", "quiet"):
    owner = User.objects.create_user(f"{{slug}}-owner", f"o@{{slug}}.test", "{PASSWORD}")
    merchant = services.merchant_create(name=slug, slug=slug, owner=owner)
    _, keys[slug + "_secret"] = services.api_key_create(merchant=merchant, name="s", kind="secret")
    _, keys[slug + "_public"] = services.api_key_create(
        merchant=merchant, name="p", kind="publishable"
    )
    if slug == "busy":
        product_bulk_upsert(merchant=merchant, items=[
            {{"sku": f"P{{i}}", "title": f"Product {{i}}", "price": str(5 + i % 90),
              "category": ["Kitchen", "Garden", "Toys", "Books"][i % 4], "brand": f"B{{i % 7}}"}}
            for i in range(200)
        ])
        rng = random.Random(7)
        now = timezone.now()
        rows = []
        for v in range({VISITORS}):
            taste = v % 4
            for e in range({EVENTS_PER_VISITOR}):
                sku = f"P{{rng.randrange(50) * 4 + taste}}"
                kind = rng.choice(["view", "view", "view", "click", "cart", "purchase"])
                rows.append(Event(
                    merchant=merchant, event_id=f"e{{v}}-{{e}}", type=kind, visitor_id=f"v{{v}}",
                    sku=sku, ts=now - timedelta(hours=rng.randrange(24 * 60)),
                    value=10 if kind == "purchase" else None,
                ))
        Event.objects.bulk_create(rows, batch_size=5000)
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    keys["journal_mode"] = cursor.fetchone()[0]
print("SEED" + json.dumps(keys))
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_stack(tmp_path):
    """migrate + seed on a fresh SQLite file, then runserver and a default-queue worker."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        MERCHLAB_VAR_DIR=str(tmp_path / "var"),
        MERCHLAB_MEDIA_ROOT=str(tmp_path / "media"),
        CELERY_TASK_ALWAYS_EAGER="0",
        DEBUG="1",
        MERCHLAB_STOREFRONT_RATE_PER_KEY="",
        MERCHLAB_STOREFRONT_RATE_PER_VISITOR="",
        MERCHLAB_STOREFRONT_RATE_PER_ADDRESS="",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=600)
    seeded = subprocess.run(
        [*manage, "shell", "-c", SEED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = next((x for x in seeded.stdout.splitlines() if x.startswith("SEED")), None)
    assert line, seeded.stdout + seeded.stderr
    keys = json.loads(line[4:])
    port = free_port()
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("web", "worker")}
    processes = [
        subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=logs["web"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "merchandising", "worker", "-Q", "default"]
            + ["-c", "1", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
    ]
    for log in logs.values():
        log.close()
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(f"{url}/login/", timeout=5)
            break
        except requests.RequestException:
            assert processes[0].poll() is None, (tmp_path / "web.log").read_text()[-3000:]
            time.sleep(0.2)
    yield url, keys, tmp_path
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    url, keys, tmp_path = demo_stack
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
    worker_log = (tmp_path / "worker.log").read_text()[-3000:]
    assert final["status"] == "succeeded", (final, worker_log)
    assert answers and all(a == (200, 302) for a in answers), answers
    # Writes were answered during the job, not queued behind its end.
    assert len(served_while_running) >= 3, (served_while_running, answers, worker_log)
