"""In a real browser, at a desktop and a phone width: an owner's day through the dashboard
(home, catalog, generate, review, experiments, placements, model versions, settings, jobs).
Every page answers without a 5xx or a console error, does not scroll sideways on a phone,
and has no serious or critical axe-core violation."""

from __future__ import annotations

import json

import pytest

from tests.conftest import sign_in
from tests.e2e.dashboard_support import PageWatch, check_page, stock_the_shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _small_model(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {"no_components": 8, "epochs": 8, "num_threads": 1}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_owner_day(browser, live_server, shop, viewport):
    data = stock_the_shop(shop)
    phone = viewport is PHONE
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page)
    problems: list[str] = []
    base = f"{live_server.url}/m/{shop.merchant.slug}"

    def visit(name: str, path: str):
        page.goto(base + path)
        problems.extend(check_page(page, name, phone=phone))

    def nav(link: str):
        """Go somewhere through the navigation, as a person would (the menu on a phone)."""
        if phone:
            toggle = page.get_by_role("button", name="Menu")
            assert toggle.is_visible()
            assert page.get_by_role("navigation", name="Main").is_hidden()
            toggle.click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
        page.wait_for_load_state()

    try:
        sign_in(page, live_server, shop.owner.username)
        # Home: what needs the owner now.
        problems.extend(check_page(page, "home", phone=phone))
        assert page.locator("#drafts-badge").inner_text().startswith("2")
        assert "2 drafts wait for review" in page.locator("#drafts-waiting").inner_text()
        running = page.locator("#running-experiments").inner_text()
        assert "Warmer descriptions" in running and "Variant B is a loser: keep A" in running
        assert "Model v2 serves" in page.locator("#model-quality").inner_text()
        assert "best-sellers" in page.locator("#model-quality").inner_text()
        assert "2 of 4 rows have problems" in page.locator("#failed-jobs").inner_text()
        assert page.locator('#main-nav a[href="/api/docs/"]').count() == 1

        nav("Catalog")
        problems.extend(check_page(page, "catalog", phone=phone))
        assert "44,171.66" in page.locator("#product-results").inner_text()
        page.get_by_role("link", name="P-001").click()
        page.wait_for_load_state()
        problems.extend(check_page(page, "product", phone=phone))

        nav("Content")
        problems.extend(check_page(page, "generate", phone=phone))
        # Pick products by searching instead of typing SKUs.
        page.get_by_label("Search by SKU or title").fill("P-00")
        page.get_by_role("button", name="Add P-003").click()
        page.get_by_role("button", name="Add P-005").click()
        assert page.get_by_label("SKUs").input_value() == "P-003 P-005"
        assert page.get_by_label("These products").is_checked()
        problems.extend(check_page(page, "generate with picker results", phone=phone))
        nav("Review")
        problems.extend(check_page(page, "review", phone=phone))

        nav("Experiments")
        problems.extend(check_page(page, "experiments", phone=phone))
        visit("experiment report", f"/experiments/{data['copy_test'].pk}/")
        headline = page.locator("#decision").inner_text()
        assert "Variant B is a loser: keep A" in headline
        # The headline quotes the interval of the table and of the chart: one interval.
        interval = headline.split("between ")[1].split(" points")[0]
        low, high = (float(x) for x in interval.split(" and "))
        table = page.locator("table.grid").first.inner_text()
        assert f"[{low:+.2f}, {high:+.2f}]".replace("+", "") in table.replace("+", "")
        assert "loser" in table and "Newcombe" not in table
        visit("placement experiment", f"/experiments/{data['placement_test'].pk}/")
        assert "Strategy: Most popular" in page.content()
        assert "{'strategy'" not in page.content()

        nav("Recommendations")
        problems.extend(check_page(page, "placements", phone=phone))
        visit("placement", f"/recommendations/placements/{data['placement'].pk}/")
        # Rules are built with controls; the JSON stays as the advanced view.
        page.get_by_role("button", name="Add a rule").click()
        page.get_by_label("Rule 1: action").select_option("pin")
        page.get_by_label("Rule 1: SKU to pin").fill("P-004")
        page.get_by_label("Rule 1: position").fill("2")
        assert json.loads(page.locator("#id_rules").input_value()) == [
            {"action": "pin", "sku": "P-004", "position": 2}
        ]
        problems.extend(check_page(page, "placement with a rule", phone=phone))
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Saved placement home-feature").wait_for()
        data["placement"].refresh_from_db()
        assert data["placement"].rules == [{"action": "pin", "sku": "P-004", "position": 2}]
        visit("model versions", "/recommendations/models/")
        versions = page.locator("#model-versions").inner_text()
        assert "Incremental update" in versions and "Full training" in versions
        assert "from v1" in versions
        # Each model's hold-out figure, the blend weights and what home serves, in words.
        fusion = data["versions"][0].metrics["fusion"]
        models = page.locator("#model-versions table.models").last
        assert "blend weight" in models.inner_text().lower()  # headers are set in capitals
        for label in ("Personal picks (LightFM hybrid)", "Bought together", "Best-sellers"):
            assert label in models.inner_text()
        serves = page.locator("#model-versions p.serves").last.inner_text()
        assert serves.startswith("The home placement serves")
        assert ("serves the blend" in serves) == (fusion["chosen"] == "blend")
        visit("placement report", "/recommendations/report/")

        nav("Segments")
        problems.extend(check_page(page, "segments", phone=phone))
        nav("Fine-tuning")
        problems.extend(check_page(page, "fine-tuning", phone=phone))

        nav("Settings")
        problems.extend(check_page(page, "settings", phone=phone))
        visit("staff", "/settings/staff/")
        visit("API keys", "/settings/keys/")

        nav("Jobs")
        problems.extend(check_page(page, "jobs", phone=phone))
        assert "Failed: 2 of 4 rows have problems" in page.locator("table.jobs").inner_text()
        visit("failed import", f"/jobs/{data['failed_import'].pk}/")
        assert page.locator("#job-progress").count() == 0
        assert page.get_by_role("button", name="Import the 2 valid rows").is_visible()
    finally:
        context.close()
    assert not problems + watch.problems, "\n".join(problems + watch.problems)


# Every GET page of the dashboard that a merchant reaches (ids filled in from the stocked shop).
EVERY_PAGE = [
    "",
    "catalog/",
    "catalog/import/",
    "catalog/{product}/",
    "content/",
    "content/drafts/",
    "content/voice/",
    "content/review/",
    "content/review/log/",
    "content/review/report/",
    "content/review/products/{product}/",
    "content/fine-tuning/",
    "recommendations/",
    "recommendations/placements/new/",
    "recommendations/placements/{placement}/",
    "recommendations/models/",
    "recommendations/report/",
    "recommendations/widget/",
    "recommendations/widget/?origin=https://evil.example",
    "experiments/",
    "experiments/new/",
    "experiments/new/from-drafts/",
    "experiments/{copy_test}/",
    "experiments/{placement_test}/",
    "segments/",
    "visitors/v-3/",
    "jobs/",
    "jobs/{failed_import}/",
    "settings/",
    "settings/staff/",
    "settings/keys/",
    "catalog/987654/",  # the styled 404
]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_every_dashboard_page_is_accessible(browser, live_server, shop, viewport):
    data = stock_the_shop(shop)
    ids = {
        "product": data["products"][1].pk,
        "placement": data["placement"].pk,
        "copy_test": data["copy_test"].pk,
        "placement_test": data["placement_test"].pk,
        "failed_import": data["failed_import"].pk,
    }
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, allow_status={404, 403})
    problems: list[str] = []
    base = f"{live_server.url}/m/{shop.merchant.slug}/"
    try:
        sign_in(page, live_server, shop.owner.username)
        for path in EVERY_PAGE:
            page.goto(base + path.format(**ids))
            problems.extend(check_page(page, path or "home", phone=viewport is PHONE))
        # Keyboard focus is visible: the first Tab lands on the skip link, which shows itself
        # with an outline.
        page.goto(base)
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
            return [e.textContent.trim(), s.outlineStyle, s.outlineWidth,
                    e.getBoundingClientRect().left >= 0]; }"""
        )
        assert focused[0] == "Skip to content" and focused[1] != "none" and focused[3]
        # A reviewer sent to an owner-only page gets the styled 403 with navigation.
        context.clear_cookies()
        sign_in(page, live_server, shop.reviewer.username)
        page.goto(base + "settings/keys/")
        assert page.get_by_role("heading", name="You cannot open this page").is_visible()
        problems.extend(check_page(page, "403", phone=viewport is PHONE))
    finally:
        context.close()
    assert not problems + watch.problems, "\n".join(problems + watch.problems)
