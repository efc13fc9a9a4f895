"""The issue's bad input through the merchant API: every case is a 400 that says what is wrong,
never a server error, and nothing is created."""

import pytest

from merchandising.experiments.models import Experiment


def _body(products, variants, **extra):
    return {
        "key": "bad", "name": "Bad", "kind": "copy", "field": "description",
        "products": [p.sku for p in products[:2]], "variants": variants, **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    "b_payload,message",
    [
        ({"copy": {"not-a-product-id": "Text."}}, "is not in the experiment"),
        ({"copy": ["Text."]}, "copy must map product ids to texts"),
        ("just a string", "the payload must be an object"),
        ({"copy": {}}, "has no alternative copy"),
    ],
)
def test_malformed_copy_variants_are_refused(shop, products, api, b_payload, message):
    client = api.as_key(shop.secret_key)
    resp = client.post(
        "/api/v1/experiments",
        _body(products, [{"name": "A", "weight": 0.5, "is_control": True}, {"name": "B", "weight": 0.5, "payload": b_payload}]),
        format="json",
    )  # fmt: skip
    assert resp.status_code == 400, resp.content
    assert message in resp.content.decode()
    assert not Experiment.objects.filter(merchant=shop.merchant).exists()


def test_weights_that_do_not_sum_up_are_refused_by_the_api(shop, products, api):
    client = api.as_key(shop.secret_key)
    payload = {"copy": {str(products[0].pk): "Text."}}
    resp = client.post(
        "/api/v1/experiments",
        _body(products, [{"name": "A", "weight": 0.5, "is_control": True}, {"name": "B", "weight": 0.6, "payload": payload}]),
        format="json",
    )  # fmt: skip
    assert resp.status_code == 400 and "sum to 1" in resp.content.decode()


def test_shipping_an_unknown_variant_is_refused(shop, products, api):
    client = api.as_key(shop.secret_key)
    payload = {"copy": {str(products[0].pk): "Text."}}
    created = client.post(
        "/api/v1/experiments",
        _body(products, [{"name": "A", "weight": 0.5, "is_control": True}, {"name": "B", "weight": 0.5, "payload": payload}]),
        format="json",
    ).json()  # fmt: skip
    resp = client.post(f"/api/v1/experiments/{created['id']}/ship", {"variant": "Z"}, format="json")
    assert resp.status_code == 400 and "No variant named 'Z'" in resp.content.decode()
    resp = client.post(f"/api/v1/experiments/{created['id']}/ship", {}, format="json")
    assert resp.status_code == 400 and "no winner to ship yet" in resp.content.decode()
