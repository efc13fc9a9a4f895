"""PostgreSQL restarting while storefront events arrive.

The app (gunicorn, two workers, persistent database connections with health checks, as in
production) reaches the test database through a TCP proxy that the test restarts the way a
database server restart looks to its clients: every open connection is cut, and for a while new
connections are closed at once; then the database is back. The shared PostgreSQL server itself is
never restarted. A client that behaves like the widget resends a batch, with the same event ids,
until it gets a 200. At the end:

- the app answered 5xx (a retryable error) while the database was away, never a 4xx or a 200 for
  events it did not store;
- the app came back by itself after each restart (no app restart);
- every event the client sent is stored exactly once, and the accepted counts add up to what is
  stored: no accepted event is lost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from merchandising.tracking.models import Event
from tests.reliability.event_sender import EventSender

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 40
PER_BATCH = 50
DOWN_SECONDS = 0.6  # how long each "restart" keeps the database away
UP_SECONDS = 0.6
RESTARTS = 4

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the app process must share the test database: needs PostgreSQL (CI uses it)",
    ),
]


class RestartingDatabase:
    """A TCP proxy to PostgreSQL whose `restart()` cuts every connection and turns new ones away
    for `down` seconds."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.turned_away = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up.is_set():
                self.turned_away += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._cut(source, sink)

    def _cut(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self.lock:
                self.open.discard(sock)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restart(self, down: float) -> None:
        self.up.clear()
        with self.lock:
            cut = list(self.open)
        self._cut(*cut)
        time.sleep(down)
        self.up.set()

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            cut = list(self.open)
        self._cut(*cut)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_behind_restarting_database(tmp_path):
    database = connection.settings_dict
    proxy = RestartingDatabase(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{database['USER']}@127.0.0.1:{proxy.port}/{database['NAME']}",
        DB_CONN_MAX_AGE="600",
        DEBUG="1",
        MERCHLAB_MEDIA_ROOT=str(tmp_path / "media"),
        MERCHLAB_STOREFRONT_RATE_PER_KEY="",
        MERCHLAB_STOREFRONT_RATE_PER_VISITOR="",
        MERCHLAB_STOREFRONT_RATE_PER_ADDRESS="",
    )
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "merchandising.wsgi", "--workers", "2"]
        + ["--bind", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            requests.get(f"{url}/login/", timeout=5)
            break
        except requests.RequestException:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "the app did not start:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:]
                ) from None
            time.sleep(0.3)
    yield url, proxy
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    proxy.close()


def test_no_accepted_event_is_lost_while_the_database_restarts(
    app_behind_restarting_database, shop
):
    url, database = app_behind_restarting_database
    headers = {"X-Storefront-Key": shop.publishable_key, "Content-Type": "application/json"}

    def batch(b: int) -> list[dict]:
        return [
            {"event_id": f"rst-{b:04d}-{i:03d}", "type": "view", "visitor_id": f"v{(b * i) % 17}"}
            for i in range(PER_BATCH)
        ]

    stop = threading.Event()
    restarts = []

    def restarter() -> None:
        while not stop.wait(UP_SECONDS):
            database.restart(DOWN_SECONDS)
            restarts.append(time.monotonic())

    thread = threading.Thread(target=restarter, daemon=True)
    thread.start()
    sender = EventSender(
        url=f"{url}/api/v1/storefront/events", headers=headers, per_batch=PER_BATCH, tries=300
    )
    sent = 0
    try:
        # at least BATCHES batches, and on until the database has restarted RESTARTS times
        while sent < BATCHES or (len(restarts) < RESTARTS and sent < 50 * BATCHES):
            events = batch(sent)
            sent += 1
            sender.send(events)
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not sender.other, sender.other
    assert len(restarts) >= RESTARTS, "the database was not restarted while the events arrived"
    assert database.turned_away > 0, "no connection was attempted while the database was away"
    assert sender.server_errors > 0, "no request failed: the restarts missed every request"
    stored = Event.objects.filter(merchant=shop.merchant)
    assert stored.count() == sent * PER_BATCH
    assert stored.values("event_id").distinct().count() == sent * PER_BATCH
    assert sender.accepted + sender.duplicates == sent * PER_BATCH
    assert sender.accepted <= stored.count()
    # the app is healthy after the last restart without being restarted itself
    last = [{"event_id": "rst-after", "type": "view", "visitor_id": "v1"}]
    response = sender.session.post(
        f"{url}/api/v1/storefront/events", json={"events": last}, headers=headers, timeout=60
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    print(
        f"\n{sent} batches, {len(restarts)} restarts, {database.turned_away} connections turned away, "
        f"{sender.server_errors} 5xx and {sender.transport_errors} transport errors retried; "
        f"{sender.accepted} accepted, {sender.duplicates} duplicates"
    )
