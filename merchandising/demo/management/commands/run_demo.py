"""python manage.py run_demo: migrate, seed the demo merchant, then run the web app and Celery
workers until Ctrl-C. `make demo` calls this."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from merchandising.celery import ensure_broker_folders
from merchandising.demo.seed import DEMO_PASSWORD, DEMO_USERS, public_url, seed_all


class Command(BaseCommand):
    help = "Run the demo: web app on 127.0.0.1:$PORT plus a CPU worker and a GPU-queue worker."

    def handle(self, *args, **options):
        port = int(os.environ.get("PORT", "8000"))
        if _port_busy(port):
            self.stderr.write(
                f"Port {port} is already in use; stop what runs there or set PORT=..."
            )
            sys.exit(1)
        os.makedirs(settings.VAR_DIR, exist_ok=True)
        ensure_broker_folders()
        database = settings.DATABASES["default"]
        broker = "Redis" if settings.REDIS_URL else "embedded file-system broker"
        self.stdout.write(
            f"== database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}; broker: {broker}"
        )
        call_command("migrate", interactive=False, verbosity=0)
        context = seed_all(say=lambda line: self.stdout.write(line))
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        celery = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "merchandising",
            "worker",
            "--loglevel",
            "INFO",
        ]
        processes = {
            "web": subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]),
            "worker": subprocess.Popen(
                [
                    *celery,
                    "-Q",
                    "default",
                    "-c",
                    "1",
                    "-n",
                    "default@%h",
                    "-B",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ]
            ),
            # One process for the gpu queue so the loaded model stays in memory between tasks.
            "gpu-worker": subprocess.Popen([*celery, "-Q", "gpu", "-c", "1", "-n", "gpu@%h"]),
        }
        try:
            _wait_for_port(port, processes["web"])
            url = public_url()
            lines = [
                "",
                "Merchlab demo is running.",
                f"url: {url}/",
                *(f"login ({role}): {username} / {DEMO_PASSWORD}" for username, role in DEMO_USERS),
                f"merchant: {context.merchant.slug}",
                f"secret key: {context.keys['secret']}",
                f"publishable key: {context.keys['publishable']}",
                f"api docs: {url}/api/docs/",
                "Press Ctrl-C to stop.",
                "",
            ]
            self.stdout.write("\n".join(lines))
            self.stdout.flush()
            while all(p.poll() is None for p in processes.values()):
                time.sleep(1)
            dead = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped; shutting the demo down.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping...")
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for p in processes.values():
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the web server did not start")
        if _port_busy(port):
            return
        time.sleep(0.3)
    raise SystemExit(f"the web server did not answer on port {port} within {seconds:.0f} s")
