"""A copy experiment made from drafts on the dashboard, its winner shipped with "Ship the
winner": the storefront then serves the winning text to everyone, and the review log says which
experiment made it live."""

from datetime import date, timedelta

import pytest
from django.apps import apps

from merchandising.experiments.models import Experiment, VariantDay

pytestmark = pytest.mark.skipif(
    not apps.is_installed("contentgen.review"), reason="review is not installed"
)


def _draft(shop, product, text, status="pending"):
    from contentgen.models import CopyDraft

    return CopyDraft.objects.create(
        merchant=shop.merchant, product=product, sku=product.sku, kind="description", field="description",
        variant=0, text=text, status=status, passed=True,
    )  # fmt: skip


def _b_wins(exp):
    VariantDay.objects.bulk_create(
        VariantDay(
            merchant=exp.merchant,
            experiment=exp,
            variant=v,
            day=date(2026, 1, 1) + timedelta(days=i),
            exposures=2000,
            converters=100 if v.is_control else 140,
        )  # fmt: skip
        for i in range(14)
        for v in exp.variants.all()
    )


def test_create_from_drafts_on_the_dashboard_then_ship_the_winner(shop, products, client, api):
    from contentgen.review.models import ReviewDecision

    d0 = _draft(shop, products[0], "Hand-hammered copper that heats evenly.")
    d1 = _draft(shop, products[1], "Copper saucepan with a brass handle.", status="approved")
    base = f"/m/{shop.merchant.slug}/experiments/"
    client.force_login(shop.owner)
    page = client.get(base + "new/from-drafts/").content.decode()
    assert f'value="{d0.pk}"' in page and f'value="{d1.pk}"' in page
    resp = client.post(
        base + "new/from-drafts/",
        {"key": "desc-drafts", "name": "Copper copy", "hypothesis": "Say what it is made of", "drafts": [d0.pk, d1.pk]},
    )  # fmt: skip
    assert resp.status_code == 302, resp.content.decode()[:3000]
    exp = Experiment.objects.get(merchant=shop.merchant, key="desc-drafts")
    assert exp.kind == "copy" and exp.field == "description" and exp.status == "draft"
    d0.refresh_from_db()
    assert d0.status == "approved"  # approved as an arm: logged, not published
    arm = ReviewDecision.objects.get(draft=d0)
    assert arm.action == "experiment" and arm.experiment_id == exp.pk
    store = api.as_storefront(shop.publishable_key)
    sku = products[0].sku
    assert store.get(f"/api/v1/storefront/products/{sku}").json()["copy"]["description"] == (
        "A copper saucepan, number 0."
    )

    client.post(f"{base}{exp.pk}/start/")
    _b_wins(exp)
    page = client.get(f"{base}{exp.pk}/").content.decode()
    assert "Ship the winner (B)" in page
    client.post(f"{base}{exp.pk}/stop/")
    # stopped but not shipped: the button is still there
    assert "Ship the winner (B)" in client.get(f"{base}{exp.pk}/").content.decode()
    resp = client.post(f"{base}{exp.pk}/ship/")
    exp.refresh_from_db()
    assert exp.winner == "B" and exp.shipped_at is not None
    for vid in ("", "anyone", "someone-else"):
        body = store.get(
            f"/api/v1/storefront/products/{sku}", {"visitor_id": vid} if vid else {}
        ).json()
        assert body["copy"]["description"] == "Hand-hammered copper that heats evenly."
    assert (
        store.get(f"/api/v1/storefront/products/{products[1].sku}").json()["copy"]["description"]
        == "Copper saucepan with a brass handle."
    )
    shipped = ReviewDecision.objects.get(experiment=exp, action="approve", product=products[0])
    assert shipped.draft_id == d0.pk and shipped.actor == shop.owner.get_username()
    assert shipped.before == "A copper saucepan, number 0."
    assert shipped.after == "Hand-hammered copper that heats evenly."
    assert f"Experiment {exp.key}: shipped variant B" in shipped.note
    log = client.get(f"/m/{shop.merchant.slug}/content/review/log/").content.decode()
    assert f"Experiment {exp.key}: shipped variant B" in log
    assert "Ship the winner" not in client.get(f"{base}{exp.pk}/").content.decode()


def test_drafts_page_refuses_what_cannot_be_tested(shop, products, client):
    rejected = _draft(shop, products[0], "No.", status="rejected")
    pending = _draft(shop, products[1], "Pending text.")
    client.force_login(shop.editor)  # editors see approved drafts only: approving is a reviewer's
    page = client.get(f"/m/{shop.merchant.slug}/experiments/new/from-drafts/").content.decode()
    assert f'value="{pending.pk}"' not in page and f'value="{rejected.pk}"' not in page
    resp = client.post(
        f"/m/{shop.merchant.slug}/experiments/new/from-drafts/",
        {"key": "nope", "name": "Nope", "drafts": [pending.pk]},
    )
    assert resp.status_code == 400
    assert "cannot be tested" in resp.content.decode()
    assert not Experiment.objects.filter(key="nope").exists()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_second_running_test_on_the_same_field_is_refused_with_a_message(
    shop, products, client, api
):
    from merchandising.experiments import services

    def make(key):
        return services.experiment_create(
            merchant=shop.merchant, key=key, name=key, kind="copy", field="description", products=products[:2],
            variants=[{"name": "A", "weight": 0.5, "is_control": True},
                      {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[1].pk): "Other."}}}],
        )  # fmt: skip

    first, second = make("first"), make("second")
    merchant_api = api.as_key(shop.secret_key)
    assert merchant_api.post(f"/api/v1/experiments/{first.pk}/start").status_code == 200
    resp = merchant_api.post(f"/api/v1/experiments/{second.pk}/start")
    assert resp.status_code == 400
    assert (
        "'first' is already running on the description of the same products"
        in resp.content.decode()
    )
    client.force_login(shop.owner)
    resp = client.post(f"/m/{shop.merchant.slug}/experiments/{second.pk}/start/", follow=True)
    assert "already running" in resp.content.decode()
    second.refresh_from_db()
    assert second.status == "draft"
