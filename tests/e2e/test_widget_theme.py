"""The widget's default theme on a plain shop page served from another origin: tiles in a grid,
images no wider than their tile, nothing overlapping, prices in the shop's currency format; and a
page whose origin or key Merchlab refuses gets one clear console warning with the API's reason
(storefront refusals carry CORS headers, so the page may read them).

The shop page comes from a small HTTP server of its own on 127.0.0.1 (another origin than
Merchlab's live server at localhost, and loopback like it: Chromium's private network rules stop a
page from a public address loading a script from loopback)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from merchandising.catalog.models import Product

from .test_widget import signed_in, widget_shop  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A 1,440-pixel square image, as shops upload them.
BIG_IMAGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="1440" height="1440">'
    '<rect width="1440" height="1440" fill="#c87533"/></svg>'
)


def plain_page(live_server, key: str, theme: str = "") -> str:
    theme_attr = f' data-merchlab-theme="{theme}"' if theme else ""
    return (
        '<!doctype html><html lang="de-DE"><head><title>Shop</title></head>'
        '<body style="margin:0"><main style="width:900px;margin:0 auto">'
        "<h1>Our kitchen shop</h1>"
        '<div data-merchlab-placement="home" data-merchlab-limit="4"></div>'
        "</main>"
        f'<script src="{live_server.url}/static/storefront/merchlab-widget.js" '
        f'data-merchlab-key="{key}" data-merchlab-api="{live_server.url}"{theme_attr}></script>'
        "</body></html>"
    )


SERVERS: list[ThreadingHTTPServer] = []
SERVED_HTML: dict[str, str] = {}  # origin -> page, for a page written after its server started


@pytest.fixture(autouse=True)
def _stop_shop_servers():
    yield
    while SERVERS:
        server = SERVERS.pop()
        server.shutdown()
        server.server_close()
    SERVED_HTML.clear()


def serve(page, html: str) -> str:
    """Serve `html` at / from a new loopback server; returns its origin."""

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            origin = f"http://127.0.0.1:{self.server.server_address[1]}"
            body = SERVED_HTML.get(origin, html).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SERVERS.append(server)
    page.route(
        "http://img.shop.test/**",
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=BIG_IMAGE),
    )
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def themed_shop(widget_shop):  # noqa: F811
    merchant = widget_shop.merchant
    Product.objects.filter(merchant=merchant).update(image_url="http://img.shop.test/big.svg")
    return widget_shop


def allow(shop, origin: str) -> None:
    merchant = shop.merchant
    merchant.storefront_origins = [*merchant.storefront_origins, origin]
    merchant.save()


def test_themed_widget_lays_out_tiles_on_a_plain_page(page, live_server, themed_shop):
    origin = serve(page, plain_page(live_server, themed_shop.publishable_key))
    allow(themed_shop, origin)
    page.goto(f"{origin}/")
    home = page.locator('[data-merchlab-placement="home"]')
    home.locator(".merchlab-item img").first.wait_for()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.merchlab-image')).every(i => i.complete)"
    )
    assert "merchlab-themed" in (home.get_attribute("class") or "")
    tiles = [t.bounding_box() for t in home.locator(".merchlab-item").all()]
    images = [i.bounding_box() for i in home.locator(".merchlab-image").all()]
    assert len(tiles) >= 2 and len(images) == len(tiles)
    for tile, image in zip(tiles, images, strict=True):
        assert image["width"] <= tile["width"] + 0.5
        assert abs(image["width"] - image["height"]) < 1  # the fixed 1:1 ratio
    for i, a in enumerate(tiles):
        for b in tiles[i + 1 :]:
            apart = (
                a["x"] + a["width"] <= b["x"] + 0.5
                or b["x"] + b["width"] <= a["x"] + 0.5
                or a["y"] + a["height"] <= b["y"] + 0.5
                or b["y"] + b["height"] <= a["y"] + 0.5
            )
            assert apart, (a, b)
    assert tiles[0]["y"] == tiles[1]["y"]  # side by side in a grid, not stacked
    # The page's locale formats the price: "12,50 €" on a German page.
    assert "12,50" in home.locator(".merchlab-price").first.text_content()
    # The theme touches nothing outside the placement.
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight") == "700"
    # Custom properties restyle it.
    page.evaluate(
        "document.querySelector('[data-merchlab-placement]').style.setProperty("
        "'--merchlab-image-ratio', '4 / 3')"
    )
    image = home.locator(".merchlab-image").first.bounding_box()
    assert abs(image["width"] / image["height"] - 4 / 3) < 0.02


def test_widget_can_render_without_the_theme(page, live_server, themed_shop):
    html = plain_page(live_server, themed_shop.publishable_key, theme="none")
    origin = serve(page, html)
    allow(themed_shop, origin)
    page.goto(f"{origin}/")
    page.locator(".merchlab-item").first.wait_for()
    assert page.locator("#merchlab-theme").count() == 0
    assert "merchlab-themed" not in (
        page.locator('[data-merchlab-placement="home"]').get_attribute("class") or ""
    )


def test_a_refused_origin_logs_one_clear_warning(page, live_server, themed_shop):
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    evil = serve(page, plain_page(live_server, themed_shop.publishable_key))
    page.goto(f"{evil}/")
    placement = page.locator('[data-merchlab-placement="home"]')
    page.wait_for_function(
        "document.querySelector('[data-merchlab-placement]').hasAttribute('data-merchlab-error')"
    )
    assert placement.locator(".merchlab-item").count() == 0
    ours = [w for w in warnings if w.startswith("Merchlab widget:")]
    assert len(ours) == 1
    # The refusal carries CORS headers, so the warning gives the API's own reason.
    assert "refused (HTTP 403)" in ours[0]
    assert f"Origin {evil} is not allowed" in ours[0]


def test_a_wrong_key_logs_the_refusal_reason(page, live_server, themed_shop):
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    origin = serve(page, plain_page(live_server, "pk_" + "x" * 43))
    allow(themed_shop, origin)
    page.goto(f"{origin}/")
    page.wait_for_function(
        "document.querySelector('[data-merchlab-placement]').hasAttribute('data-merchlab-error')"
    )
    ours = [w for w in warnings if w.startswith("Merchlab widget:")]
    assert len(ours) == 1
    assert "refused (HTTP 401)" in ours[0] and "invalid or has been revoked" in ours[0]


def test_the_dashboard_snippet_copies_and_works_on_a_shop_page(page, live_server, themed_shop):
    """The widget page's copy button puts the snippet, with the real key, on the clipboard; pasted
    into a plain page on a checked, allowed origin it renders the placement."""
    signed_in(page, live_server, themed_shop.owner)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    shop_origin = serve(page, "")  # the port is known before the page's HTML is
    allow(themed_shop, shop_origin)
    page.goto(f"{live_server.url}/m/{themed_shop.merchant.slug}/recommendations/widget/")
    page.get_by_label("Origin of a shop page").fill(shop_origin)
    page.get_by_role("button", name="Check").click()
    page.locator("#origin-result").wait_for()
    assert "This origin is allowed" in page.locator("#origin-result").text_content()
    page.get_by_role("button", name="Copy snippet").click()
    page.get_by_text("Copied.").wait_for()
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert f'data-merchlab-key="{themed_shop.publishable_key}"' in snippet

    SERVED_HTML[shop_origin] = f"<!doctype html><html lang='en'><body>{snippet}</body></html>"
    page.goto(f"{shop_origin}/")
    page.locator('[data-merchlab-placement="home"] .merchlab-item').first.wait_for()
