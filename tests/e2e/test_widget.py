"""The storefront widget in a real browser, on the demo storefront page."""

import json
from decimal import Decimal

import pytest

from merchandising.catalog.models import Product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVIL = '<img src=x onerror="window.pwned=1">Evil pan'


def is_events_post(request) -> bool:
    return request.method == "POST" and request.url.endswith("/api/v1/storefront/events")


@pytest.fixture
def widget_shop(shop, settings):
    from merchandising.storefront.selectors import placement_cache_forget
    from recsys import serving

    settings.MERCHLAB_SERVING_CHECK_SECONDS = 0
    settings.MERCHLAB_SERVING_BACKGROUND_REFRESH = False
    serving.reset()
    placement_cache_forget()
    for i, (title, category) in enumerate(
        [
            ("Copper pan", "Kitchen > Cookware"),
            (EVIL, "Kitchen > Cookware"),
            ("Tea mug", "Tableware > Mugs"),
            ("Bread knife", "Kitchen > Knives"),
        ]
    ):
        Product.objects.create(
            merchant=shop.merchant,
            sku=f"W-{i}",
            title=title,
            category=category,
            price=Decimal("12.50"),
            stock=3,
        )
    yield shop
    serving.reset()


def signed_in(page, live_server, user) -> None:
    """A dashboard session for `user` in the browser (the login form has its own tests)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_widget_renders_text_safely_and_reports_impressions_and_clicks(
    page, live_server, widget_shop
):
    signed_in(page, live_server, widget_shop.owner)
    slug = widget_shop.merchant.slug
    page.goto(f"{live_server.url}/storefront-demo/{slug}/")
    # Opening the page wrote nothing: the owner sets it up (publishable key, origin) by a POST.
    with page.expect_request(is_events_post) as impressions:
        page.get_by_role("button", name="Set up the demo storefront").click()
        home = page.locator('[data-merchlab-placement="home"]')
        home.locator(".merchlab-item").first.wait_for()
    titles = home.locator(".merchlab-title").all_text_contents()
    assert len(titles) == 3  # at most two per top-level category by default
    request_id = home.get_attribute("data-merchlab-request-id")
    assert request_id

    # A title with markup is shown as text, never run as HTML.
    if EVIL in titles:
        assert home.locator("img[src='x']").count() == 0
    assert page.evaluate("window.pwned") is None

    sent = json.loads(impressions.value.post_data)["events"]
    assert {e["type"] for e in sent} == {"impression"}
    assert {e["request_id"] for e in sent} == {request_id}
    assert {e["placement"] for e in sent} == {"home"}
    assert len({e["event_id"] for e in sent}) == len(sent) == 3
    assert impressions.value.headers["x-storefront-key"] == page.locator(
        "script[data-merchlab-key]"
    ).get_attribute("data-merchlab-key")

    first = home.locator(".merchlab-item").first
    sku = first.get_attribute("data-sku")
    with page.expect_request(
        lambda r: is_events_post(r) and '"click"' in (r.post_data or "")
    ) as click:
        first.locator("a").click()
    event = json.loads(click.value.post_data)["events"][0]
    assert event == {
        **event,
        "type": "click",
        "sku": sku,
        "request_id": request_id,
        "placement": "home",
    }

    # The events API stored them, tied to the answer's request id (what the report counts).
    from merchandising.tracking.models import Event

    def stored():
        return sorted(
            Event.objects.filter(merchant=widget_shop.merchant, request_id=request_id).values_list(
                "type", flat=True
            )
        )

    for _ in range(50):
        if stored() == ["click", "impression", "impression", "impression"]:
            break
        page.wait_for_timeout(200)
    assert stored() == ["click", "impression", "impression", "impression"]

    # The link leads to the product page, which shows the "similar" placement for that product.
    page.wait_for_url(f"**/storefront-demo/{slug}/?sku={sku}")
    similar = page.locator('[data-merchlab-placement="product_similar"]')
    similar.locator(".merchlab-item").first.wait_for()
    assert sku not in similar.locator(".merchlab-item").evaluate_all(
        "nodes => nodes.map(n => n.dataset.sku)"
    )
