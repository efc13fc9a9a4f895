"""Login abuse and production hardening: failed sign-ins are throttled (per account and address,
without checking the password while locked; more in test_sign_in_throttle.py), CSRF is enforced on
every session write, and the production settings make cookies secure, send HSTS, redirect to
HTTPS and deny framing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from merchandising.accounts.throttling import SIGN_IN_LIMITS
from merchandising.catalog.models import Product
from tests.conftest import PASSWORD

LOGIN_FAILURE_LIMIT = SIGN_IN_LIMITS["account_address"]
ROOT = Path(__file__).resolve().parents[2]
STRONG = "k3J9-pQ_x7Vb2nR8tYw4Lm6Zc1Hs5Df0Gj2Ka9Ue7Io3Py6Tr8Eq1Wb5Nv4Mx0Cz7"


def attempt(client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_lockout_ignores_the_right_password_and_other_case_names_are_other_accounts(client, shop):
    name = shop.owner.username
    for i in range(LOGIN_FAILURE_LIMIT):
        assert attempt(client, name, f"wrong-{i}").status_code == 200
    # Sign-in names are exact (as the authentication backend looks them up): another case is
    # another, unknown, name, which never locks anyone out and never signs in.
    other_case = attempt(client, name.upper(), PASSWORD)
    assert b"Too many failed" not in other_case.content
    assert not signed_in(client)
    locked = attempt(client, name, PASSWORD)
    assert b"Too many failed sign-in attempts" in locked.content
    assert not signed_in(client)
    # Other people signing in from elsewhere are not affected.
    other = Client()
    attempt(other, shop.editor.username, PASSWORD, ip="198.51.100.9")
    assert signed_in(other)


@pytest.mark.django_db
def test_failures_below_the_limit_do_not_lock_and_the_lock_is_in_the_shared_cache(client, shop):
    from django.core.cache import cache

    for i in range(LOGIN_FAILURE_LIMIT - 1):
        attempt(client, shop.owner.username, f"wrong-{i}")
    attempt(client, shop.owner.username, PASSWORD)
    assert signed_in(client)

    hammer = Client()
    for i in range(LOGIN_FAILURE_LIMIT + 3):
        attempt(hammer, shop.reviewer.username, f"guess-{i}")
    assert not signed_in(hammer)
    cache.clear()  # the lock lives in the cache (Redis in production): every process shares it
    attempt(hammer, shop.reviewer.username, PASSWORD)
    assert signed_in(hammer)


@pytest.mark.django_db
def test_unknown_usernames_and_hostile_names_are_throttled_too(client):
    name = "<script>alert(1)</script>\u202e" + "x" * 140
    for i in range(LOGIN_FAILURE_LIMIT):
        response = attempt(client, name, f"guess-{i}")
        assert response.status_code == 200
        assert b"<script>alert(1)</script>" not in response.content
    assert b"Too many failed" in attempt(client, name, "again").content


@pytest.mark.django_db
def test_csrf_is_enforced_on_dashboard_and_session_api_writes(shop, products):
    client = Client(enforce_csrf_checks=True)
    client.force_login(shop.editor)
    url = reverse("dashboard:product", args=[shop.merchant.slug, products[0].pk])
    refused = client.post(url, {"title": "Forged", "price": "1.00"})
    assert refused.status_code == 403
    api_refused = client.post(
        "/api/v1/products",
        json.dumps({"sku": "FORGED", "title": "Forged", "price": "1.00"}),
        content_type="application/json",
    )
    assert api_refused.status_code == 403
    assert not Product.objects.filter(title="Forged").exists()
    assert not Product.objects.filter(sku="FORGED").exists()


@pytest.mark.django_db
def test_sign_in_form_is_csrf_protected(shop):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"), {"username": shop.owner.username, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert not signed_in(client)


PROBE = r"""
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
    "SECURE_PROXY_SSL_HEADER", "CORS_ALLOW_ALL_ORIGINS", "CORS_ALLOW_CREDENTIALS",
]
out = {n: getattr(settings, n, None) for n in names}
# Pages need collected static files in production (collectstatic); the probe only looks at
# cookies and headers, so it renders with plain static URLs.
from django.test.utils import override_settings
override_settings(STORAGES={
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}).enable()
client = Client(HTTP_HOST="shop.example.com")
plain = client.get("/login/")
out["http_status"] = plain.status_code
out["http_location"] = plain.get("Location", "")
secure = client.get("/login/", secure=True)
out["https_status"] = secure.status_code
out["hsts"] = secure.get("Strict-Transport-Security", "")
out["frame"] = secure.get("X-Frame-Options", "")
csrf = secure.cookies.get(settings.CSRF_COOKIE_NAME)
out["csrf_cookie"] = {"secure": bool(csrf["secure"]), "samesite": csrf["samesite"]} if csrf else None
print("PROBE" + json.dumps(out, default=str))
"""


def test_production_settings_secure_cookies_hsts_https_and_framing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(
        DEBUG="0",
        SECRET_KEY=STRONG,
        ALLOWED_HOSTS="shop.example.com",
        DJANGO_SETTINGS_MODULE="merchandising.settings",
        MERCHLAB_STATIC_ROOT=str(tmp_path / "static"),
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE")), None)
    assert line, result.stdout + result.stderr
    got = json.loads(line[len("PROBE") :])
    assert got["DEBUG"] is False
    assert got["SESSION_COOKIE_SECURE"] and got["SESSION_COOKIE_HTTPONLY"]
    assert got["CSRF_COOKIE_SECURE"]
    assert got["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert got["SECURE_SSL_REDIRECT"] and got["SECURE_HSTS_SECONDS"] >= 31536000
    assert got["SECURE_CONTENT_TYPE_NOSNIFF"] and got["X_FRAME_OPTIONS"] == "DENY"
    assert not got["CORS_ALLOW_ALL_ORIGINS"] and not got["CORS_ALLOW_CREDENTIALS"]
    # Plain HTTP is redirected to HTTPS; HTTPS answers carry HSTS and refuse framing.
    assert got["http_status"] == 301 and got["http_location"].startswith("https://")
    assert got["https_status"] == 200
    assert "max-age=31536000" in got["hsts"] and "includeSubDomains" in got["hsts"]
    assert got["frame"] == "DENY"
    assert got["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
