"""Issue 17's failures that only SQLite showed (the database `make demo` gives a new user),
against gunicorn serving a fresh SQLite database: the review flag filter (SQLite has no JSON
`contains`), a negative offset, ids beyond 64 bits in an `in` lookup, and a lone surrogate.

The rest of the suite runs on PostgreSQL; this module starts its own server on SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

SEED = """
from django.contrib.auth import get_user_model
from contentgen.models import CopyDraft
from merchandising.accounts import services as accounts
from merchandising.catalog.models import Product
from merchandising.catalog.services import product_bulk_upsert

owner = get_user_model().objects.create_user("owner", "owner@acme.test", "a-long-password-1")
merchant = accounts.merchant_create(name="Acme", slug="acme", owner=owner)
_, secret = accounts.api_key_create(merchant=merchant, name="server", kind="secret")
product_bulk_upsert(
    merchant=merchant,
    items=[{"sku": "P-1", "title": "Pan", "price": "1"}, {"sku": "P-2", "title": "Pot", "price": "1"}],
)
flag = {"code": "unsupported_material", "severity": "hard", "message": "silk"}
for product in Product.objects.filter(merchant=merchant).order_by("sku"):
    CopyDraft.objects.create(
        merchant=merchant, product=product, sku=product.sku, kind="seo_title", field="seo_title",
        text="A pan", flags=[flag] if product.sku == "P-1" else [], passed=product.sku != "P-1",
        product_updated_at=product.updated_at,
    )
print("KEY=" + secret)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("sqlite-var")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{var}/merchlab.sqlite3",
        "MERCHLAB_VAR_DIR": str(var),
        "REDIS_URL": "",
        "DEBUG": "1",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=600)
    seeded = subprocess.run(
        [*manage, "shell", "-c", SEED],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    key = next(line[4:] for line in seeded.stdout.splitlines() if line.startswith("KEY="))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "merchandising.wsgi", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    try:
        for _ in range(600):  # readiness only: the server is up once it answers
            try:
                session.get(f"{url}/api/v1/me", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, "gunicorn exited"
                time.sleep(0.2)
        yield url, session
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_review_flag_filter_works_on_sqlite(sqlite_server):
    url, api = sqlite_server
    response = api.get(f"{url}/api/v1/review/drafts?flag=unsupported_material", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert [d["sku"] for d in response.json()["results"]] == ["P-1"]
    response = api.get(f"{url}/api/v1/review/drafts?flag=hard", timeout=30)
    assert [d["sku"] for d in response.json()["results"]] == ["P-1"]


def test_bad_numbers_and_text_are_400s_on_sqlite(sqlite_server):
    url, api = sqlite_server
    response = api.get(f"{url}/api/v1/review/drafts?offset=-346", timeout=30)
    assert response.status_code == 400 and "offset" in response.json()["errors"]
    response = api.post(
        f"{url}/api/v1/review/drafts/bulk",
        data=b'{"action": "approve", "draft_ids": [100000000000000000000]}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400 and "draft_ids" in response.json()["errors"]
    response = api.post(
        f"{url}/api/v1/products",
        data=b'{"sku": "S-1", "title": "t", "price": "1", "attributes": {"\\ud800x": "v"}}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400 and "attributes" in response.json()["errors"]
    assert api.get(f"{url}/api/v1/products", timeout=30).status_code == 200
