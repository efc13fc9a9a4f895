"""The demo's default stack as separate processes for reliability tests: a fresh SQLite file
(migrated and seeded with two merchants, one with tens of thousands of events), the file-system
broker, the file cache, runserver and real Celery workers that a test can kill."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoStack:
    def __init__(self, tmp_path: Path, **extra_env: str) -> None:
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update(
            MERCHLAB_VAR_DIR=str(tmp_path / "var"),
            MERCHLAB_MEDIA_ROOT=str(tmp_path / "media"),
            CELERY_TASK_ALWAYS_EAGER="0",
            DEBUG="1",
            MERCHLAB_STOREFRONT_RATE_PER_KEY="",
            MERCHLAB_STOREFRONT_RATE_PER_VISITOR="",
            MERCHLAB_STOREFRONT_RATE_PER_ADDRESS="",
            **extra_env,
        )
        self.manage = [sys.executable, str(ROOT / "manage.py")]
        self.processes: list[subprocess.Popen] = []
        self.url = ""
        self.keys: dict = {}

    def setup(self) -> None:
        """Migrate and seed; `keys` gets the merchants' keys and the journal mode."""
        subprocess.run(
            [*self.manage, "migrate", "-v", "0"], cwd=ROOT, env=self.env, check=True, timeout=600
        )
        self.keys = self.shell(SEED, "SEED")

    def shell(self, code: str, tag: str) -> dict:
        """Run `code` in `manage.py shell`; it prints `tag` + JSON, which is returned."""
        done = subprocess.run(
            [*self.manage, "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith(tag)), None)
        assert line, done.stdout + done.stderr
        return json.loads(line[len(tag) :])

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.tmp_path / f"{name}-{len(self.processes)}.log", "wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def start_web(self) -> str:
        port = free_port()
        web = self._start("web", [*self.manage, "runserver", f"127.0.0.1:{port}", "--noreload"])
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                requests.get(f"{self.url}/login/", timeout=5)
                return self.url
            except requests.RequestException:
                assert web.poll() is None, self.logs()
                time.sleep(0.2)
        raise AssertionError("the web server did not start\n" + self.logs())

    def start_worker(self, queue: str = "default") -> subprocess.Popen:
        return self._start(
            "worker",
            [sys.executable, "-m", "celery", "-A", "merchandising", "worker", "-Q", queue]
            + ["-c", "1", "--pool", "solo", "--loglevel", "WARNING"],
        )

    def kill(self, process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-chars:]}"
            for path in sorted(self.tmp_path.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
