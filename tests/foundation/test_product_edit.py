"""Editing a product: the dashboard form sends every copy field back, and a field that did not
change is neither an error nor a new version in the history."""

from __future__ import annotations

import pytest

from merchandising.catalog.models import CopyRevision, Product
from merchandising.catalog.services import product_archive
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _form(product: Product, **changes) -> dict:
    data = {
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": str(product.price),
        "currency": product.currency,
        "stock": product.stock,
        "status": product.status,
        "image_url": "",
        "tags": "",
        "attributes": "material: copper",
        "description": f"A copper saucepan, number {product.sku[-1]}.",
        "seo_title": "",
        "seo_description": "",
    }
    return {**data, **changes}


def test_dashboard_edit_keeps_unchanged_copy_and_saves_the_rest(client, shop, products):
    product = products[0]
    client.login(username=shop.editor.username, password=PASSWORD)
    url = f"/m/{shop.merchant.slug}/catalog/{product.pk}/"
    revisions = CopyRevision.objects.filter(product=product).count()

    response = client.post(url, _form(product, title="Copper saucepan, lidded", price="52.00"))

    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.title == "Copper saucepan, lidded" and str(product.price) == "52.00"
    assert CopyRevision.objects.filter(product=product).count() == revisions

    response = client.post(url, _form(product, description="Hammered copper, tin-lined."))
    assert response.status_code == 302
    latest = CopyRevision.objects.filter(product=product, field="description").first()
    assert latest.value == "Hammered copper, tin-lined."
    assert latest.previous_value == "A copper saucepan, number 0."


def test_an_archived_product_with_copy_can_still_be_edited(client, shop, products):
    product = product_archive(product=products[1])
    client.login(username=shop.editor.username, password=PASSWORD)
    response = client.post(
        f"/m/{shop.merchant.slug}/catalog/{product.pk}/", _form(product, stock=0)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.stock == 0 and product.status == Product.Status.ARCHIVED


def test_api_patch_with_the_same_copy_answers_200_and_adds_no_version(api, shop, products):
    api.as_key(shop.secret_key)
    sku = products[2].sku
    before = api.get(f"/api/v1/products/{sku}/history").json()
    response = api.patch(
        f"/api/v1/products/{sku}",
        {"stock": 9, "copy": {"description": "A copper saucepan, number 2."}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["stock"] == 9
    assert api.get(f"/api/v1/products/{sku}/history").json() == before
