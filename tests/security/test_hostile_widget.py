"""The storefront widget in Chromium with a catalog of hostile products: titles and live copy
(the description the widget shows) full of markup, scripts and odd Unicode are rendered as text,
nothing runs, and the page's own markup is intact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from merchandising.catalog.models import Product
from merchandising.catalog.services import live_copy_publish

from . import hostile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hostile_shop(shop, settings):
    from merchandising.storefront.selectors import placement_cache_forget
    from recsys import serving

    settings.MERCHLAB_SERVING_CHECK_SECONDS = 0
    settings.MERCHLAB_SERVING_BACKGROUND_REFRESH = False
    serving.reset()
    placement_cache_forget()
    for i, title in enumerate(hostile.TITLES.values()):
        product = Product.objects.create(
            merchant=shop.merchant,
            sku=f"HW-{i:02d}",
            title=title,
            category=f"Dept{i % 6} > Shelf",  # several top categories: the widget shows several
            price=Decimal("9.99"),
            stock=5,
        )
        live_copy_publish(
            product=product,
            field="description",
            value=f"{hostile.SCRIPT} {hostile.IMG} {hostile.EMOJI} {hostile.RTL}",
            source="generated",
        )
    yield shop
    serving.reset()


def test_widget_renders_hostile_titles_and_copy_as_text(page, live_server, hostile_shop):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(hostile_shop.owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_default_timeout(90_000)  # the shared 2-core machine can be very busy
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    from merchandising.storefront.services import demo_storefront_setup

    demo_storefront_setup(
        merchant=hostile_shop.merchant, user=hostile_shop.owner, origin=live_server.url
    )
    page.goto(f"{live_server.url}/storefront-demo/{hostile_shop.merchant.slug}/")
    home = page.locator('[data-merchlab-placement="home"]')
    home.locator(".merchlab-item").first.wait_for()
    titles = home.locator(".merchlab-title").all_text_contents()
    descriptions = home.locator(".merchlab-description").all_text_contents()
    assert titles and set(titles) <= set(hostile.TITLES.values())
    assert any(hostile.SCRIPT in d for d in descriptions)  # shown literally, as text

    assert page.evaluate("window.__xss") is None
    assert not dialogs
    assert home.locator("script").count() == 0
    assert home.locator("img[src='x']").count() == 0
    assert home.locator("[onmouseover], [onerror]").count() == 0
