"""Recommendations from a trained LightFM model: profiles, sessions, similar items, hot reload."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from merchandising.catalog.models import Product
from merchandising.storefront import services
from merchandising.tracking.models import Event
from recsys.models import ModelVersion
from recsys.training import TrainingConfig, TrainingData, train

URL = "/api/v1/storefront/recommendations"
PANS = [f"PAN-{i}" for i in range(8)]
SPADES = [f"SPADE-{i}" for i in range(8)]


def catalog_rows():
    rows = [
        {
            "item_id": s,
            "title": f"Copper pan {s}",
            "category": "Kitchen > Cookware",
            "brand": "Kuchen",
        }
        for s in PANS
    ]
    rows += [
        {
            "item_id": s,
            "title": f"Garden spade {s}",
            "category": "Garden > Tools",
            "brand": "Digger",
        }
        for s in SPADES
    ]
    return rows


def tiny_model():
    """Cooks buy pans, gardeners buy spades: a model that has learned two tastes."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for u in range(30):
        pool = PANS if u % 2 == 0 else SPADES
        for sku in rng.choice(pool, size=5, replace=False):
            users.append(f"{'cook' if u % 2 == 0 else 'gardener'}-{u}")
            items.append(str(sku))
    # Cooks shop from Germany, gardeners from France: a new visitor's country says something.
    people = [
        {"user_id": u, "country": "DE" if u.startswith("cook") else "FR"}
        for u in sorted(set(users))
    ]
    data = TrainingData(user_ids=users, item_ids=items, items=catalog_rows(), users=people)
    return train(data, TrainingConfig(no_components=8, epochs=30, num_threads=1, random_state=1))


def register(merchant, artifact, version: int) -> ModelVersion:
    path = default_storage.save(
        f"recsys/{merchant.pk}/v{version}.npz", ContentFile(artifact.to_bytes())
    )
    ModelVersion.objects.filter(merchant=merchant, is_active=True).update(is_active=False)
    return ModelVersion.objects.create(
        merchant=merchant,
        version=version,
        status=ModelVersion.Status.READY,
        artifact_path=path,
        is_active=True,
    )


@pytest.fixture(scope="module")
def artifact():
    return tiny_model()


@pytest.fixture
def trained_shop(shop, artifact):
    for row in catalog_rows():
        Product.objects.create(
            merchant=shop.merchant,
            sku=row["item_id"],
            title=row["title"],
            brand=row["brand"],
            category=row["category"],
            price=Decimal("20.00"),
            stock=4,
        )
    register(shop.merchant, artifact, 1)
    services.placement_create(merchant=shop.merchant, key="for-you", name="For you", limit=4)
    return shop


def get(api, key, **params):
    r = api.as_storefront(key).get(URL, params)
    assert r.status_code == 200, r.content
    return r.json()


def test_known_visitor_gets_their_learned_taste(api, trained_shop):
    body = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="gardener-1")
    assert body["model_version"] == 1
    assert body["strategy"] == "lightfm"
    skus = [i["sku"] for i in body["items"]]
    assert len(skus) == 4 and all(s.startswith("SPADE") for s in skus), skus
    assert body["items"][0]["reason"] == "picked for you"
    cook = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0")
    assert all(i["sku"].startswith("PAN") for i in cook["items"])


def test_new_visitor_follows_this_session_in_real_time(api, trained_shop):
    merchant = trained_shop.merchant
    now = timezone.now()
    for k, sku in enumerate(["SPADE-0", "SPADE-1"]):
        Event.objects.create(
            merchant=merchant,
            event_id=f"e{k}",
            type="view",
            visitor_id="newbie",
            sku=sku,
            ts=now - timedelta(seconds=10 - k),
        )
    body = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="newbie")
    skus = [i["sku"] for i in body["items"]]
    assert all(s.startswith("SPADE") for s in skus), skus
    assert not {"SPADE-0", "SPADE-1"} & set(skus)  # what was just viewed is not echoed
    # The reason names the product as shoppers know it, never its SKU alone.
    assert body["items"][0]["reason"].startswith("because you viewed Garden spade SPADE-")
    # Three pans viewed afterwards: the recommendations turn to pans, no retraining.
    for k, sku in enumerate(["PAN-0", "PAN-1", "PAN-2", "PAN-3"]):
        Event.objects.create(
            merchant=merchant,
            event_id=f"p{k}",
            type="view",
            visitor_id="newbie",
            sku=sku,
            ts=now + timedelta(seconds=k),
        )
    body = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="newbie")
    assert [i["sku"] for i in body["items"]][0].startswith("PAN")


def test_new_visitor_without_history_is_placed_by_their_features(api, trained_shop):
    # Only an impression so far (no product viewed), sent from France.
    Event.objects.create(
        merchant=trained_shop.merchant,
        event_id="imp-fr",
        type="impression",
        visitor_id="visitor-fr",
        sku="",
        country="FR",
        ts=timezone.now(),
    )
    body = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="visitor-fr")
    assert body["model_version"] == 1
    skus = [i["sku"] for i in body["items"]]
    assert sum(s.startswith("SPADE") for s in skus) >= 3, skus


def test_purchases_are_not_recommended_again(api, trained_shop):
    before = [
        i["sku"]
        for i in get(api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0")[
            "items"
        ]
    ]
    Event.objects.create(
        merchant=trained_shop.merchant,
        event_id="buy1",
        type="purchase",
        visitor_id="cook-0",
        sku=before[0],
        ts=timezone.now(),
    )
    after = [
        i["sku"]
        for i in get(api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0")[
            "items"
        ]
    ]
    assert before[0] not in after


def test_similar_products_come_from_the_model(api, trained_shop):
    body = get(
        api, trained_shop.publishable_key, placement="product_similar", visitor_id="x", sku="PAN-3"
    )
    skus = [i["sku"] for i in body["items"]]
    assert body["model_version"] == 1
    assert "PAN-3" not in skus and all(s.startswith("PAN") for s in skus[:3]), skus
    assert (
        body["items"][0]["reason"] == "similar to Copper pan PAN-3"
    )  # its title, as shoppers know it


def test_a_new_model_version_is_served_without_restart(api, trained_shop, artifact):
    assert (
        get(api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0")[
            "model_version"
        ]
        == 1
    )
    register(trained_shop.merchant, artifact, 2)
    assert (
        get(api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0")[
            "model_version"
        ]
        == 2
    )


def test_products_added_after_training_are_ranked_from_their_metadata(api, trained_shop):
    Product.objects.create(
        merchant=trained_shop.merchant,
        sku="PAN-NEW",
        title="Copper pan new",
        brand="Kuchen",
        category="Kitchen > Cookware",
        price=Decimal("25.00"),
        stock=2,
    )
    body = get(
        api, trained_shop.publishable_key, placement="for-you", visitor_id="cook-0", limit=16
    )
    skus = [i["sku"] for i in body["items"]]
    assert "PAN-NEW" in skus
    assert all(np.isfinite(i["score"]) for i in body["items"])


def test_anonymous_visitor_linked_to_a_known_one_gets_their_profile(api, trained_shop):
    from merchandising.tracking.services import visitor_link

    merchant = trained_shop.merchant
    visitor_link(merchant=merchant, anonymous_id="anon-9", visitor_id="gardener-1")
    # The anonymous id's own history still counts: what it bought is not offered again.
    Event.objects.create(
        merchant=merchant,
        event_id="anon-buy",
        type="purchase",
        visitor_id="anon-9",
        sku="SPADE-0",
        ts=timezone.now(),
    )
    body = get(api, trained_shop.publishable_key, placement="for-you", visitor_id="anon-9")
    skus = [i["sku"] for i in body["items"]]
    assert len(skus) == 4 and all(s.startswith("SPADE") for s in skus), skus
    assert "SPADE-0" not in skus
    assert body["items"][0]["reason"] == "picked for you"
