"""Dashboard pages: create a copy test, start it, read the report, ship the winner."""

from datetime import date, timedelta

import pytest

from merchandising.catalog.models import LiveCopy
from merchandising.experiments.models import Experiment, VariantDay


def _daily(exp, days, per_day, rates):
    rows = []
    for i in range(days):
        for v in exp.variants.all():
            n = per_day
            rows.append(
                VariantDay(
                    merchant=exp.merchant,
                    experiment=exp,
                    variant=v,
                    day=date(2026, 1, 1) + timedelta(days=i),
                    exposures=n,
                    converters=int(round(n * rates[v.name])),
                    add_to_cart=int(n * 0.2),
                    clickers=0,
                    revenue_sum=float(n * rates[v.name] * 40),
                    revenue_sumsq=float(n * rates[v.name] * 1700),
                )  # fmt: skip
            )
    VariantDay.objects.bulk_create(rows)


@pytest.fixture
def editor_client(client, shop):
    client.force_login(shop.editor)
    return client


def test_create_start_report_and_ship_from_the_dashboard(editor_client, shop, products):
    base = f"/m/{shop.merchant.slug}/experiments/"
    form = {
        "kind": "copy", "key": "desc-dash", "name": "Dashboard test", "hypothesis": "Warmer copy sells",
        "field": "description", "alternative_copy": f"{products[0].sku} | A warmer description.",
        "weight_b": "0.5", "traffic_share": "1", "attribution_window_hours": "72",
        "minimum_detectable_effect": "0.05", "sequential": "on",
    }  # fmt: skip
    resp = editor_client.post(base + "new/", form)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    exp = Experiment.objects.get(key="desc-dash")
    page = editor_client.get(resp["Location"]).content.decode()
    assert "Draft" in page and "Start" in page
    editor_client.post(f"{base}{exp.pk}/start/")
    exp.refresh_from_db()
    assert exp.status == "running"
    _daily(exp, days=14, per_day=2000, rates={"A": 0.05, "B": 0.065})
    page = editor_client.get(f"{base}{exp.pk}/").content.decode()
    assert "Variant B is ahead with" in page
    assert "sequential (always valid)" in page
    assert page.count("<svg") == 3 and "http://" not in page.split("<svg", 1)[1].replace(
        "http://www.w3.org/2000/svg", ""
    )
    csv = editor_client.get(f"{base}{exp.pk}/daily.csv").content.decode().splitlines()
    assert len(csv) == 1 + 14 * 2
    editor_client.post(f"{base}{exp.pk}/ship/", {"variant": "B"})
    assert (
        LiveCopy.objects.get(product=products[0], field="description").value
        == "A warmer description."
    )
    assert editor_client.get(base).status_code == 200


def test_bad_form_input_is_explained(editor_client, shop, products):
    resp = editor_client.post(
        f"/m/{shop.merchant.slug}/experiments/new/",
        {"kind": "copy", "key": "x", "name": "x", "field": "description", "alternative_copy": "NOPE | text",
         "weight_b": "0.5", "traffic_share": "1", "attribution_window_hours": "72", "minimum_detectable_effect": "0.05"},
    )  # fmt: skip
    assert resp.status_code == 400
    assert "Unknown SKU NOPE" in resp.content.decode()


def test_srm_warning_and_roles(client, shop, other_shop, products):
    from merchandising.experiments import services

    exp = services.experiment_create(
        merchant=shop.merchant, key="srm", name="SRM", kind="copy", field="description", products=products[:1],
        variants=[{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "x"}}}],
    )  # fmt: skip
    a, b = exp.variants.order_by("position")
    VariantDay.objects.bulk_create(
        [
            VariantDay(
                merchant=shop.merchant,
                experiment=exp,
                variant=a,
                day=date(2026, 1, 1),
                exposures=10_000,
                converters=500,
            ),
            VariantDay(
                merchant=shop.merchant,
                experiment=exp,
                variant=b,
                day=date(2026, 1, 1),
                exposures=10_800,
                converters=540,
            ),
        ]
    )
    client.force_login(shop.reviewer)
    page = client.get(f"/m/{shop.merchant.slug}/experiments/{exp.pk}/").content.decode()
    assert "Sample ratio mismatch" in page
    assert client.post(f"/m/{shop.merchant.slug}/experiments/{exp.pk}/start/").status_code == 403
    client.force_login(other_shop.owner)
    assert client.get(f"/m/{shop.merchant.slug}/experiments/{exp.pk}/").status_code == 404
    assert client.get(f"/m/{other_shop.merchant.slug}/experiments/{exp.pk}/").status_code == 404


def test_guardrail_warns_when_a_secondary_metric_gets_worse(shop, products):
    from merchandising.experiments import services
    from merchandising.experiments.selectors import experiment_report

    exp = services.experiment_create(
        merchant=shop.merchant, key="guard", name="Guard", kind="copy", field="description", products=products[:1],
        guardrails=["add_to_cart_rate"],
        variants=[{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "x"}}}],
    )  # fmt: skip
    a, b = exp.variants.order_by("position")
    VariantDay.objects.bulk_create(
        [
            VariantDay(merchant=shop.merchant, experiment=exp, variant=a, day=date(2026, 1, 1), exposures=5000, converters=250, add_to_cart=1000),
            VariantDay(merchant=shop.merchant, experiment=exp, variant=b, day=date(2026, 1, 1), exposures=5000, converters=260, add_to_cart=800),
        ]
    )  # fmt: skip
    warnings = experiment_report(shop.merchant, exp)["warnings"]
    assert any("Guardrail: Add-to-cart rate of B" in w for w in warnings)
