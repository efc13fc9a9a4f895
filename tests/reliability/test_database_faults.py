"""Database faults while storefront events arrive.

A live server takes events batches from a client that behaves like the widget: it resends a batch,
with the same event ids, until it gets an answer. Meanwhile the test terminates every PostgreSQL
connection the server holds to the test database (pg_terminate_backend, what a database restart
or failover does to the app; the shared server itself is never restarted). The server answers
5xx while its connection is gone, the client retries, and at the end:

- every event the client sent is stored exactly once (event ids make retries safe);
- the events the server said it accepted add up to what is stored (an answer of "accepted" is
  never lost, a 5xx never half-stores a batch that a retry then counts again).
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection

from merchandising.tracking.models import Event
from tests.reliability.event_sender import EventSender

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="terminates PostgreSQL connections (CI uses PostgreSQL)",
    ),
]

BATCHES = 40
PER_BATCH = 50


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate_server_connections(spare: int) -> int:
    """End the other sessions on this test database (the live server's), sparing this thread's
    and the test's own (`spare`); never sessions of other databases on the server."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [spare],
        )
        return cursor.fetchone()[0]


def test_no_accepted_event_is_lost_when_database_connections_die(live_server, shop, settings):
    settings.MERCHLAB_STOREFRONT_RATE_PER_KEY = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = ""
    url = f"{live_server.url}/api/v1/storefront/events"
    headers = {"X-Storefront-Key": shop.publishable_key, "Content-Type": "application/json"}
    batches = [
        [
            {"event_id": f"dbf-{b:03d}-{i:03d}", "type": "view", "visitor_id": f"v{(b * i) % 17}"}
            for i in range(PER_BATCH)
        ]
        for b in range(BATCHES)
    ]

    stop = threading.Event()
    terminated = []
    test_pid = backend_pid()

    def killer() -> None:
        try:
            while not stop.is_set():
                terminated.append(terminate_server_connections(test_pid))
                time.sleep(0.03)
        finally:
            connection.close()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    sender = EventSender(url=url, headers=headers, per_batch=PER_BATCH, tries=200)
    try:
        for batch in batches:
            sender.send(batch)
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not sender.other, sender.other
    assert sum(terminated) > 0, "the fault injection never ended a server connection"
    assert sender.server_errors + sender.transport_errors > 0, (
        "no request failed: the faults missed every request, so this run showed nothing"
    )
    stored = Event.objects.filter(merchant=shop.merchant)
    assert stored.count() == BATCHES * PER_BATCH
    assert stored.values("event_id").distinct().count() == BATCHES * PER_BATCH
    # Each batch ended with one 200 whose accepted + duplicates is the whole batch (checked above);
    # duplicates there are events an attempt stored before its answer failed: nothing counted
    # twice, nothing accepted and then missing.
    assert sender.accepted + sender.duplicates == BATCHES * PER_BATCH
    assert sender.accepted <= stored.count()
    print(
        f"\n{sender.server_errors} 5xx and {sender.transport_errors} transport errors retried; "
        f"{sum(terminated)} connections terminated; "
        f"{sender.accepted} accepted, {sender.duplicates} duplicates"
    )
