"""Fixtures shared by the whole suite: two merchants with staff of every role and their keys,
API clients, Celery in eager mode (the integration tests start a real worker instead), and a
Playwright browser on Debian's chromium."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run under a
# running loop unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("MERCHLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached look-ups must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Run tasks in-process for ordinary tests; tests marked integration use a real worker."""
    from merchandising.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@dataclass
class Shop:
    merchant: object
    owner: object
    editor: object
    reviewer: object
    secret_key: str
    publishable_key: str


def make_shop(slug: str) -> Shop:
    from django.contrib.auth import get_user_model

    from merchandising.accounts import services

    User = get_user_model()
    owner = User.objects.create_user(f"{slug}-owner", f"owner@{slug}.test", PASSWORD)
    editor = User.objects.create_user(f"{slug}-editor", f"editor@{slug}.test", PASSWORD)
    reviewer = User.objects.create_user(f"{slug}-reviewer", f"reviewer@{slug}.test", PASSWORD)
    merchant = services.merchant_create(
        name=slug.title(), slug=slug, owner=owner, storefront_origins=[f"https://{slug}.shop.test"]
    )
    services.membership_set(merchant=merchant, user=editor, role="editor")
    services.membership_set(merchant=merchant, user=reviewer, role="reviewer")
    _, secret = services.api_key_create(merchant=merchant, name="server", kind="secret")
    _, publishable = services.api_key_create(merchant=merchant, name="shop", kind="publishable")
    return Shop(merchant, owner, editor, reviewer, secret, publishable)


@pytest.fixture
def shop(db) -> Shop:
    return make_shop("acme")


@pytest.fixture
def other_shop(db) -> Shop:
    return make_shop("globex")


@pytest.fixture
def api():
    """An API client; `api.as_key(key)` authenticates with a secret key."""
    from rest_framework.test import APIClient

    class Client(APIClient):
        def as_key(self, key: str):
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            return self

        def as_storefront(self, key: str, **extra):
            self.credentials(HTTP_X_STOREFRONT_KEY=key, **extra)
            return self

    return Client()


def product_rows(count: int = 3, prefix: str = "SKU") -> list[dict]:
    return [
        {
            "sku": f"{prefix}-{i:04d}",
            "title": f"Copper saucepan {i}",
            "brand": "Kuchen",
            "category": "Kitchen > Cookware",
            "price": "49.90",
            "stock": 5,
            "attributes": {"material": "copper", "capacity": "2 l"},
            "copy": {"description": f"A copper saucepan, number {i}."},
        }
        for i in range(count)
    ]


@pytest.fixture
def products(shop):
    from merchandising.catalog.services import product_bulk_upsert

    product_bulk_upsert(merchant=shop.merchant, items=product_rows(3))
    return list(shop.merchant.products.order_by("sku"))


# --- browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (CI installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
