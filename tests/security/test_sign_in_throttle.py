"""Sign-in throttling (issue 17, findings 2 and 3): failures are counted per account and per
(account, client address); guessing unknown names from an address never locks out the real users
who sign in from it; X-Forwarded-For counts only when the operator says how many proxies wrote
it; and the counter is atomic, so concurrent guesses against a live server get at most the limit
of password checks, on Redis and on the demo's file cache."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.urls import reverse

from merchandising.accounts.throttling import SIGN_IN_LIMITS
from merchandising.cache import FileBasedCache
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PER_ADDRESS = SIGN_IN_LIMITS["account_address"]
PER_ACCOUNT = SIGN_IN_LIMITS["account"]
WRONG = b"Please enter a correct username and password"
LOCKED = b"Too many failed sign-in attempts"


def attempt(client, username: str, password: str, ip: str = "203.0.113.7", **headers):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )


def signs_in(username: str, ip: str, **headers) -> bool:
    client = Client()
    attempt(client, username, PASSWORD, ip=ip, **headers)
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_random_usernames_from_one_address_never_lock_out_real_users_there(shop):
    office = "198.51.100.20"
    for i in range(35):  # a spray of made-up names (the old per-address limit was 30)
        attempt(Client(), f"nobody-{uuid.uuid4().hex[:8]}-{i}", "guess", ip=office)
    assert signs_in(shop.owner.username, office)
    assert signs_in(shop.editor.username, office)


@pytest.mark.django_db
def test_one_account_is_locked_from_an_address_and_then_from_everywhere(shop):
    name = shop.reviewer.username
    for i in range(PER_ADDRESS):
        assert WRONG in attempt(Client(), name, f"wrong-{i}", ip="203.0.113.1").content
    locked = attempt(Client(), name, PASSWORD, ip="203.0.113.1")
    assert LOCKED in locked.content  # the right password is not even checked
    assert signs_in(name, "198.51.100.1")  # elsewhere the owner of the account still gets in
    assert signs_in(shop.owner.username, "203.0.113.1")  # other accounts from that address too

    # A distributed guess: a few failures from many addresses lock the account from new ones,
    # while an address the user signed in from before keeps working.
    for i in range(PER_ACCOUNT):
        attempt(Client(), name, f"spread-{i}", ip=f"192.0.2.{i + 1}")
    assert LOCKED in attempt(Client(), name, PASSWORD, ip="192.0.2.200").content
    assert signs_in(name, "198.51.100.1")


@pytest.mark.django_db
def test_forwarded_for_is_ignored_unless_the_proxy_count_is_set(shop, settings):
    name = shop.editor.username
    # Without the setting a client cannot dodge the per-address limit by writing the header.
    for i in range(PER_ADDRESS):
        attempt(Client(), name, "x", ip="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert LOCKED in attempt(Client(), name, PASSWORD, ip="203.0.113.9").content

    # Behind one trusted proxy every request comes from the proxy's address; the client is the
    # last entry of X-Forwarded-For (what the proxy appended), whatever the client wrote before.
    settings.MERCHLAB_TRUSTED_PROXY_COUNT = 1
    proxy = "10.9.9.9"
    owner = shop.owner.username
    for i in range(PER_ADDRESS):
        forged = f"192.0.2.{i}, 203.0.113.50"
        attempt(Client(), owner, "x", ip=proxy, HTTP_X_FORWARDED_FOR=forged)
    assert (
        LOCKED
        in attempt(Client(), owner, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.50").content
    )
    # Another user behind the same proxy, from another client address, is not affected.
    assert signs_in(owner, proxy, HTTP_X_FORWARDED_FOR="198.51.100.77")


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_guesses_at_a_live_server_get_at_most_the_limit_checked(
    live_server, shop
):
    """20 threads post a wrong password for one account at the same moment; each attempt is
    counted before its password is checked, so no more than the limit see "wrong password"."""

    def guess(i: int) -> bytes:
        with requests.Session() as session:
            page = session.get(f"{live_server.url}/login/", timeout=120)
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
            response = session.post(
                f"{live_server.url}/login/",
                data={
                    "username": shop.owner.username,
                    "password": f"wrong-{i}",
                    "csrfmiddlewaretoken": token.group(1).decode(),
                },
                headers={"Referer": f"{live_server.url}/login/"},
                timeout=120,
            )
            assert response.status_code == 200
            return response.content

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(20)))
    checked = sum(WRONG in a for a in answers)
    refused = sum(LOCKED in a for a in answers)
    assert checked + refused == 20
    assert 1 <= checked <= PER_ADDRESS, f"{checked} of 20 concurrent guesses were checked"


COUNTER = """
import json, sys
import django
from django.conf import settings
settings.configure()
django.setup()
from merchandising.cache import FileBasedCache, counter_hit
cache = FileBasedCache(sys.argv[1], {})
print(json.dumps([counter_hit("k", 60, cache=cache) for _ in range(25)]))
"""


def test_the_file_cache_counter_is_atomic_across_processes(tmp_path):
    """The demo's cache (no Redis): 8 processes count 25 hits each on one counter, and every
    hit gets its own number."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    counts = []
    for process in processes:
        out, _ = process.communicate(timeout=300)
        assert process.returncode == 0
        counts += json.loads(out)
    assert sorted(counts) == list(range(1, 201))
    assert FileBasedCache(str(tmp_path), {}).get("k") == 200
