"""Merchant API of the model registry: list, read, activate, roll back (roles and tenancy)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from merchandising.tracking.services import events_ingest
from recsys import selectors, services
from recsys.models import ModelVersion
from tests.conftest import PASSWORD

GROUPS = ["Garden > Tools", "Kitchen > Pans", "Toys > Puzzles", "Books > Novels"]
START = datetime(2026, 3, 1, tzinfo=UTC)
URL = "/api/v1/recommender/versions"


@pytest.fixture(autouse=True)
def _small_model(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {"no_components": 8, "epochs": 4, "num_threads": 1}


def _trained(merchant, versions: int) -> list[ModelVersion]:
    """A small catalog, taste-group events and ``versions`` full trainings (the last active)."""
    from merchandising.catalog.services import product_bulk_upsert

    product_bulk_upsert(
        merchant=merchant,
        items=[
            {
                "sku": f"P-{i:03d}",
                "title": f"{GROUPS[i % 4].split(' > ')[1]} item {i}",
                "category": GROUPS[i % 4],
                "price": f"{10 + i}.00",
                "stock": 3,
            }
            for i in range(24)
        ],
    )
    rng = np.random.RandomState(0)
    events = []
    for v in range(24):
        for j in range(8):
            item = int(rng.choice(range(v % 4, 24, 4)))
            ts = START + timedelta(hours=v, minutes=j)
            events.append(
                {
                    "event_id": f"{merchant.slug}-{v}-{j}",
                    "type": "view",
                    "visitor_id": f"v-{v}",
                    "sku": f"P-{item:03d}",
                    "ts": ts.isoformat(),
                }
            )
    events_ingest(merchant=merchant, events=events)
    return [
        services.recommender_train(merchant=merchant, evaluate_holdout=i == 0)
        for i in range(versions)
    ]


def test_members_list_and_read_versions_with_metrics_and_training_time(api, shop):
    first, second = _trained(shop.merchant, 2)
    api.login(username=shop.reviewer.username, password=PASSWORD)
    listed = api.get(URL)
    assert listed.status_code == 200
    body = listed.json()
    assert [v["version"] for v in body] == [2, 1]
    assert [v["is_active"] for v in body] == [True, False]
    assert body[1]["training_seconds"] > 0 and body[1]["counts"]["interactions"] > 0
    assert body[1]["holdout"]["k"] == 10 and "ndcg" in body[1]["holdout"]["model"]
    assert "ndcg" in body[1]["holdout"]["popularity"]
    assert len(api.get(URL, {"limit": 1}).json()) == 1
    assert api.get(URL, {"limit": 0}).status_code == 400

    detail = api.get(f"{URL}/{first.pk}").json()
    assert detail["version"] == 1 and detail["config"]["no_components"] == 8
    assert "merchlab" in detail["metrics"]["models"]


def test_editor_activates_an_older_version_and_serving_uses_it(api, shop):
    first, second = _trained(shop.merchant, 2)
    assert selectors.active_model_artifact(shop.merchant).meta["model_version"] == 2

    api.login(username=shop.reviewer.username, password=PASSWORD)
    assert api.post(f"{URL}/{first.pk}/activate").status_code == 403
    assert ModelVersion.objects.get(pk=second.pk).is_active

    api.login(username=shop.editor.username, password=PASSWORD)
    answer = api.post(f"{URL}/{first.pk}/activate")
    assert answer.status_code == 200 and answer.json()["is_active"]
    assert selectors.active_model_artifact(shop.merchant).meta["model_version"] == 1
    assert not ModelVersion.objects.get(pk=second.pk).is_active

    failed = ModelVersion.objects.create(
        merchant=shop.merchant, version=3, status=ModelVersion.Status.FAILED, error="boom"
    )
    refused = api.post(f"{URL}/{failed.pk}/activate")
    assert refused.status_code == 400 and "ready" in refused.json()["detail"]
    assert ModelVersion.objects.get(pk=first.pk).is_active


def test_rollback_goes_to_the_previous_ready_version(api, shop):
    first, second = _trained(shop.merchant, 2)
    api.as_key(shop.secret_key)
    answer = api.post(f"{URL}/rollback", {}, format="json")
    assert answer.status_code == 200 and answer.json()["version"] == 1
    assert selectors.active_model_version(shop.merchant).pk == first.pk
    nothing = api.post(f"{URL}/rollback", {}, format="json")
    assert nothing.status_code == 400 and "no ready version before v1" in nothing.json()["detail"]
    forward = api.post(f"{URL}/rollback", {"to": second.pk}, format="json")
    assert forward.status_code == 200 and forward.json()["version"] == 2


def test_another_merchants_versions_are_not_found_and_unchanged(api, shop, other_shop):
    (theirs,) = _trained(other_shop.merchant, 1)
    (mine,) = _trained(shop.merchant, 1)
    ModelVersion.objects.filter(pk=mine.pk).update(is_active=False)
    theirs_before = ModelVersion.objects.get(pk=theirs.pk)
    api.as_key(shop.secret_key)
    assert api.get(f"{URL}/{theirs.pk}").status_code == 404
    assert api.post(f"{URL}/{theirs.pk}/activate").status_code == 404
    assert api.post(f"{URL}/rollback", {"to": theirs.pk}, format="json").status_code == 404
    assert [v["id"] for v in api.get(URL).json()] == [mine.pk]
    assert ModelVersion.objects.get(pk=theirs.pk).is_active == theirs_before.is_active is True
    assert selectors.active_model_version(shop.merchant) is None


def test_routes_are_in_the_openapi_schema(api, shop):
    api.login(username=shop.owner.username, password=PASSWORD)
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {
        "/api/v1/recommender/versions",
        "/api/v1/recommender/versions/{model_version_id}",
        "/api/v1/recommender/versions/{model_version_id}/activate",
        "/api/v1/recommender/versions/rollback",
    } <= set(paths)
