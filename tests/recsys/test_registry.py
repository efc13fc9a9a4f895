"""Training from tracking events into the model registry: jobs, versions, updates, commands."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from merchandising.jobs.models import Job
from merchandising.tracking.services import events_ingest, visitor_link
from recsys import selectors, services
from recsys.models import ModelVersion
from recsys.training import NotEnoughData

GROUPS = ["Garden > Tools", "Kitchen > Pans", "Toys > Puzzles", "Books > Novels"]
START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _small_model(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {"no_components": 8, "epochs": 8, "num_threads": 1}


@pytest.fixture
def catalog(shop):
    from merchandising.catalog.services import product_bulk_upsert

    rows = [
        {
            "sku": f"P-{i:03d}",
            "title": f"{GROUPS[i % 4].split(' > ')[1]} item {i}",
            "brand": f"brand-{i % 4}",
            "category": GROUPS[i % 4],
            "price": f"{10 + i}.00",
            "stock": 3,
        }
        for i in range(32)
    ]
    product_bulk_upsert(merchant=shop.merchant, items=rows)
    return rows


def _send(merchant, visitors, per_visitor, start, prefix="e", seed=0):
    rng = np.random.RandomState(seed)
    events = []
    for v in visitors:
        group = int(v.split("-")[1]) % 4
        for j in range(per_visitor):
            item = int(rng.choice(range(group, 32, 4))) if rng.rand() < 0.9 else rng.randint(32)
            kind = "purchase" if j % 5 == 4 else "view"
            # Visitors interleave in time, so a time hold-out holds known visitors.
            ts = start + timedelta(hours=j, minutes=int(v.split("-")[1]))
            events.append(
                {
                    "event_id": f"{prefix}-{v}-{j}",
                    "type": kind,
                    "visitor_id": v,
                    "sku": f"P-{item:03d}",
                    "ts": ts.isoformat(),
                    "device": "mobile" if group % 2 else "desktop",
                }
            )
    for i in range(0, len(events), 500):
        events_ingest(merchant=merchant, events=events[i : i + 500])


def test_training_job_registers_an_active_version_with_metrics(
    shop, catalog, django_capture_on_commit_callbacks
):
    _send(shop.merchant, [f"v-{i}" for i in range(60)], 12, START)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.recommender_train_submit(merchant=shop.merchant, user=shop.owner)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.progress == 100 and "Model v1 trained" in job.message
    version = ModelVersion.objects.get(merchant=shop.merchant)
    assert version.is_active and version.status == "ready" and version.job_id == job.pk
    assert version.counts["users"] == 60 and version.counts["items"] == 32
    holdout = version.metrics["models"]
    assert {"merchlab", "popularity"} <= set(holdout)
    assert holdout["merchlab"]["ndcg"] > holdout["popularity"]["ndcg"]
    assert version.metrics["beats_popularity"] is True
    assert version.training_seconds > 0
    artifact = selectors.active_model_artifact(shop.merchant)
    assert artifact.user_representation("v-3")[2] == "profile"
    assert len(artifact.item_ids) == 32


def test_update_and_new_version_is_picked_up_without_restart(shop, catalog):
    _send(shop.merchant, [f"v-{i}" for i in range(40)], 10, START)
    first = services.recommender_train(merchant=shop.merchant, evaluate_holdout=False)
    assert selectors.active_model_artifact(shop.merchant).meta["model_version"] == 1
    # New visitors arrive after the model was trained; a linked anonymous id merges into one.
    later = START + timedelta(days=5)
    _send(shop.merchant, ["v-100", "v-101", "anon-7"], 6, later, prefix="n", seed=1)
    visitor_link(merchant=shop.merchant, anonymous_id="anon-7", visitor_id="v-103")
    second = services.recommender_update(merchant=shop.merchant)
    assert second.kind == "update" and second.parent_id == first.pk and second.version == 2
    assert second.is_active and not ModelVersion.objects.get(pk=first.pk).is_active
    artifact = selectors.active_model_artifact(shop.merchant)
    assert artifact.meta["model_version"] == 2
    assert {"v-100", "v-101", "v-103"} <= set(artifact.user_index)
    assert "anon-7" not in artifact.user_index
    assert second.trained_until > first.trained_until
    with pytest.raises(NotEnoughData, match="No new events"):
        services.recommender_update(merchant=shop.merchant)


def test_too_little_data_fails_the_job_with_what_is_missing(
    shop, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.recommender_train_submit(merchant=shop.merchant)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "no product events yet" in job.error
    _send(shop.merchant, ["v-0"], 3, START)
    with pytest.raises(NotEnoughData, match="need at least"):
        services.recommender_train(merchant=shop.merchant)
    assert not ModelVersion.objects.filter(merchant=shop.merchant).exists()


def test_versions_are_per_merchant(shop, other_shop, catalog):
    _send(shop.merchant, [f"v-{i}" for i in range(20)], 8, START)
    version = services.recommender_train(merchant=shop.merchant, evaluate_holdout=False)
    assert selectors.active_model_artifact(other_shop.merchant) is None
    with pytest.raises(ModelVersion.DoesNotExist):
        selectors.model_version_get(other_shop.merchant, version.pk)
    with pytest.raises(ModelVersion.DoesNotExist):
        services.model_version_activate(merchant=other_shop.merchant, version=version)


def test_train_recommender_command(shop, catalog, capsys):
    with pytest.raises(CommandError, match="no product events"):
        call_command("train_recommender", merchant="acme", verbosity=0)
    _send(shop.merchant, [f"v-{i}" for i in range(30)], 8, START)
    call_command("train_recommender", merchant="acme", verbosity=0)
    assert "model v1 (full)" in capsys.readouterr().out
    # An update with no new events is refused with the reason.
    with pytest.raises(CommandError, match="No new events"):
        call_command("train_recommender", merchant="acme", update=True, verbosity=0)
    assert ModelVersion.objects.filter(merchant=shop.merchant).count() == 1


QUICK_CONFIG = json.dumps(
    {
        "no_components": 8,
        "epochs": 5,
        "num_threads": 1,
        "next_items": {"dim": 16, "blocks": 1, "epochs": 30, "max_len": 10},
    }
)


def _route_shop(folder) -> None:
    """60 visitors in three groups; each walks along their group's route of products (one
    step per event, visitors interleaved in time, so the time split keeps them known), and six
    visitors seen only at the end."""
    rng = np.random.RandomState(0)
    lines = ["user_id,item_id,timestamp"]
    for u in range(60):
        route = list(range(u % 3, 30, 3))
        start = int(rng.randint(0, 4))
        for j in range(6):
            lines.append(f"u{u},i{route[start + j]},{1_700_000_000 + j * 3_600 + u}")
    for u in range(60, 66):  # new visitors at the very end: the cold-user rows
        lines.append(f"u{u},i{u % 3},{1_700_000_000 + 9 * 3_600 + u}")
    (folder / "interactions.csv").write_text("\n".join(lines) + "\n")
    items = ["item_id,title,category,price"] + [
        f"i{i},thing {i % 3},Cat > C{i % 3},{5 + i}" for i in range(30)
    ]
    (folder / "items.csv").write_text("\n".join(items) + "\n")


@pytest.mark.parametrize("split", ["time", "last"])
def test_recsys_evaluate_reports_every_model_and_their_blend(tmp_path, capsys, db, split):
    _route_shop(tmp_path)
    out = tmp_path / "result.json"
    call_command(
        "recsys_evaluate",
        data=str(tmp_path),
        split=split,
        k=5,
        json_out=str(out),
        config=QUICK_CONFIG,
        verbosity=0,
    )
    text = capsys.readouterr().out
    for model in ("popularity", "lightfm_cf", "merchlab", "bought_together", "next_items", "blend"):
        assert f"| {model} |" in text
    assert "| cold_users: blend |" in text and "blend weights: merchlab" in text
    result = json.loads(out.read_text())
    assert result["k"] == 5 and result["split"] == split
    models = result["models"]
    # Every model is scored on the same visitors, and has its training time.
    assert len({m["users"] for m in models.values()}) == 1 and models["blend"]["users"] > 0
    assert all(m["training_seconds"] >= 0 for m in models.values())
    assert sum(result["blend"]["weights"].values()) == pytest.approx(1.0)
    assert result["cold_users"]["blend"]["users"] == 6
    # On a shop whose visitors follow routes, the models of what goes together and of what
    # comes next find the next products far better than the best sellers.
    assert models["bought_together"]["ndcg"] > models["popularity"]["ndcg"] + 0.1
    assert models["next_items"]["ndcg"] > models["popularity"]["ndcg"] + 0.1


def test_recsys_evaluate_command_refuses_bad_input(tmp_path, db):
    with pytest.raises(CommandError, match="needs interactions.csv"):
        call_command("recsys_evaluate", data=str(tmp_path / "missing"))
    _route_shop(tmp_path)
    with pytest.raises(CommandError, match="Unknown models: nope"):
        call_command("recsys_evaluate", data=str(tmp_path), models="merchlab,nope")
    with pytest.raises(CommandError, match="--max-users"):
        call_command("recsys_evaluate", data=str(tmp_path), max_users=0)
