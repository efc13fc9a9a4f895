"""Copy experiments built from approved drafts; a draft deleted after the start is withdrawn."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from merchandising.experiments import services
from merchandising.experiments.selectors import experiment_report

pytestmark = pytest.mark.skipif(
    not apps.is_installed("contentgen"), reason="contentgen (drafts) is not installed"
)


def _draft(shop, product, text, status="approved", variant=0):
    from contentgen.models import CopyDraft

    return CopyDraft.objects.create(
        merchant=shop.merchant, product=product, sku=product.sku, kind="description", field="description",
        variant=variant, text=text, status=status, passed=True,
    )  # fmt: skip


def test_experiment_from_approved_drafts(shop, products, api):
    d0 = _draft(shop, products[0], "Approved alternative 0.")
    d1 = _draft(shop, products[1], "Approved alternative 1.")
    pending = _draft(shop, products[2], "Not reviewed yet.", status="pending")
    with pytest.raises(ValidationError, match="approved"):
        services.experiment_create_from_drafts(
            merchant=shop.merchant, key="d", name="d", drafts=[d0, pending]
        )
    exp = services.experiment_create_from_drafts(
        merchant=shop.merchant, key="drafts", name="Drafts", drafts=[d0, d1]
    )
    b = exp.variants.get(name="B")
    assert b.payload["copy"] == {
        str(products[0].pk): "Approved alternative 0.",
        str(products[1].pk): "Approved alternative 1.",
    }
    services.experiment_start(experiment=exp)
    d1.delete()
    assert services.experiment_drafts_check(experiment=exp) == [f"B:{products[1].pk}"]
    client = api.as_storefront(shop.publishable_key)
    texts = {
        client.get(
            f"/api/v1/storefront/products/{products[1].sku}", {"visitor_id": f"u{i}"}
        ).json()["copy"]["description"]
        for i in range(20)
    }
    assert texts == {"A copper saucepan, number 1."}
    assert any("withdrawn" in w for w in experiment_report(shop.merchant, exp)["warnings"])
