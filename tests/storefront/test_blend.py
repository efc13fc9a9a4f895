"""The home placement's blend: weights fitted on the shop's hold-out at training, and served as
the fused models or as the best single model, saying which."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from merchandising.tracking.services import events_ingest
from recsys import services
from recsys.models import ModelVersion
from recsys.selectors import load_artifact, model_versions_summary
from tests.storefront.test_bought_together import PRODUCTS, START, catalog  # noqa: F401

URL = "/api/v1/storefront/recommendations"


@pytest.fixture(autouse=True)
def _small_models(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {
        "no_components": 4,
        "epochs": 3,
        "num_threads": 1,
        "next_items": {"dim": 8, "blocks": 1, "epochs": 2},
    }


@pytest.fixture
def trained(shop, catalog):  # noqa: F811
    rng = np.random.RandomState(0)
    skus = [p[0] for p in PRODUCTS]
    events = []
    for v in range(40):
        for j in range(8):
            sku = skus[(v + j + rng.randint(0, 2)) % len(skus)]
            events.append(
                {
                    "event_id": f"v{v}-{j}",
                    "type": "add_to_cart" if j % 2 else "view",
                    "visitor_id": f"v{v}",
                    "sku": sku,
                    # Visitors interleave in time: the hold-out holds visitors known before.
                    "ts": (START + timedelta(hours=j * 2, minutes=v)).isoformat(),
                }
            )
    events_ingest(merchant=shop.merchant, events=events)
    services.recommender_train(merchant=shop.merchant)
    return shop


def get(api, key, **params):
    response = api.as_storefront(key).get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_training_fits_blend_weights_and_home_serves_what_won_on_the_hold_out(api, trained):
    version = ModelVersion.objects.get(merchant=trained.merchant, is_active=True)
    fusion = version.metrics["fusion"]
    assert set(fusion["models"]) == {"merchlab", "bought_together", "next_items", "popularity"}
    assert fusion["users"] > 0 and sum(fusion["weights"].values()) == pytest.approx(1.0)
    summary = model_versions_summary(trained.merchant)[0]
    assert summary["fusion"]["chosen"] == fusion["chosen"]

    answer = get(api, trained.publishable_key, placement="home", visitor_id="v3")
    expected = {"blend": "blend", "merchlab": "lightfm"}.get(fusion["chosen"], fusion["chosen"])
    assert answer["strategy"] == expected and answer["items"]


def test_a_winning_blend_is_served_fused_with_each_products_reason(api, trained):
    version = ModelVersion.objects.get(merchant=trained.merchant, is_active=True)
    artifact = load_artifact(version)
    artifact.meta["fusion"] = {
        "chosen": "blend",
        "weights": {"merchlab": 0.5, "bought_together": 0.5, "next_items": 0.0, "popularity": 0.0},
    }
    path = default_storage.save("recsys/blend-test.npz", ContentFile(artifact.to_bytes()))
    ModelVersion.objects.filter(pk=version.pk).update(is_active=False)
    ModelVersion.objects.create(
        merchant=trained.merchant,
        version=version.version + 1,
        status=ModelVersion.Status.READY,
        artifact_path=path,
        is_active=True,
    )
    answer = get(
        api, trained.publishable_key, placement="home", visitor_id="newcomer", cart="TEA", limit=4
    )
    assert answer["strategy"] == "blend" and answer["model_version"] == version.version + 1
    reasons = [item["reason"] for item in answer["items"]]
    assert any(r.startswith("often bought with") for r in reasons), reasons
