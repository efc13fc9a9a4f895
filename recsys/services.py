"""Writes of the recommender: full training, incremental updates, activation, job submission.

* ``recommender_train(merchant=, job=None, report=None, config=None, evaluate=True, activate=True)``
  reads the merchant's tracking events and catalog, evaluates the production configuration on
  a time hold-out (last 20% of events) against a popularity baseline, trains the final model on
  all events with ``recsys.training.train`` (the same code as the ``merchlab`` evaluation
  configuration), stores the artifact through Django's default storage and registers a
  ``ModelVersion`` with its metrics, counts and training seconds.
* ``recommender_update(merchant=, ...)`` continues the active version with ``fit_partial`` on
  the events that arrived after it was trained and registers the result as a new version.
* ``model_version_activate(merchant=, version=)``; ``model_version_rollback(merchant=,
  to_version_id=None)`` (the previous ready version, or a named one).
* ``recommender_train_submit`` / ``recommender_update_submit``: a Job on the ``default`` queue.

``report(progress: int, message: str)`` is the Job runner's progress callback (or None).
``config`` is a dict for ``TrainingConfig.from_dict`` (merged over the merchant's defaults in
``settings.MERCHLAB_RECSYS_CONFIG``), e.g. ``{"interactions": {"half_life_days": 30,
"event_weights": {"purchase": 10}}, "epochs": 30}``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from recsys.datasets import InteractionDataset
from recsys.evaluation import evaluate, fusion_holdout
from recsys.features import InteractionConfig, event_type_weights
from recsys.models import ModelVersion
from recsys.training import (
    NotEnoughData,
    RecommenderArtifact,
    TrainingConfig,
    TrainingData,
    train,
    train_components,
    update,
)

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
JOB_TRAIN = "recommender_train"
JOB_UPDATE = "recommender_update"
# The hold-out check scores a seeded sample of this many visitors: ranking every product for
# each of a big shop's visitors took longer than the training itself.
HOLDOUT_MAX_USERS = 5000


def _report(report: Report | None, start: int, end: int):
    def progress(fraction: float, message: str) -> None:
        if report is not None:
            report(int(start + (end - start) * fraction), message)

    return progress


def training_config(overrides: dict | None = None) -> TrainingConfig:
    """The production configuration: code defaults < settings < per-call overrides."""
    merged: dict = {}
    for layer in (getattr(settings, "MERCHLAB_RECSYS_CONFIG", None) or {}, overrides or {}):
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return TrainingConfig.from_dict(merged)


def _item_records(merchant) -> list[dict]:
    from merchandising.catalog.models import LiveCopy, Product

    descriptions = dict(
        LiveCopy.objects.filter(product__merchant=merchant, field="description").values_list(
            "product_id", "value"
        )
    )
    records = []
    for p in Product.objects.filter(merchant=merchant).values(
        "id", "sku", "title", "brand", "category", "price", "tags", "attributes"
    ):
        copy = descriptions.get(p["id"])
        records.append(
            {
                "item_id": p["sku"],
                "title": p["title"],
                "brand": p["brand"],
                "category": p["category"],
                "price": float(p["price"]),
                "tags": list(p["tags"] or ()),
                "attributes": {str(k): str(v) for k, v in (p["attributes"] or {}).items()},
                "description": copy if isinstance(copy, str) else "",
            }
        )
    return records


def _segment_memberships(merchant) -> dict[str, list[str]]:
    """visitor id -> segment names, when the segments app stores memberships (else empty)."""
    from django.apps import apps

    for label, name in (("segments", "SegmentMembership"), ("recsys", "SegmentMembership")):
        try:
            model = apps.get_model(label, name)
        except LookupError:
            continue
        fields = {f.name for f in model._meta.get_fields()}
        if {"visitor_id", "segment", "merchant"} <= fields:
            out: dict[str, list[str]] = {}
            rows = model.objects.filter(merchant=merchant).values_list("visitor_id", "segment_id")
            for visitor, segment in rows.iterator():
                out.setdefault(visitor, []).append(str(segment))
            return out
    return {}


def _user_records(columns: dict[str, list], segments: dict[str, list[str]]) -> list[dict]:
    """Per visitor: the last device and country seen, first-seen time, segments."""
    users: dict[str, dict] = {}
    for visitor, ts, device, country in zip(
        columns["visitor_id"], columns["ts"], columns["device"], columns["country"], strict=True
    ):
        record = users.get(visitor)
        if record is None:
            record = users[visitor] = {"user_id": visitor, "first_seen": ts}
        if device:
            record["device"] = device
        if country:
            record["country"] = country
    for visitor, names in segments.items():
        if visitor in users:
            users[visitor]["segments"] = names
    return list(users.values())


def training_data_for(merchant, *, since: datetime | None = None) -> TrainingData:
    """Events (impressions left out, linked visitor ids merged) + catalog + visitor features."""
    from merchandising.tracking.selectors import events_for_training

    columns = events_for_training(merchant, since=since)
    return TrainingData(
        user_ids=columns["visitor_id"],
        item_ids=columns["sku"],
        timestamps=np.asarray(columns["ts"], dtype=np.float64),
        event_types=columns["type"],
        items=_item_records(merchant),
        users=_user_records(columns, _segment_memberships(merchant)),
    )


def _holdout_config(config: TrainingConfig) -> TrainingConfig:
    """The configuration with the hold-out's smaller time budget."""
    cfg = TrainingConfig.from_dict(config.to_dict())
    if config.max_seconds and config.holdout_max_seconds:
        cfg.max_seconds = min(config.max_seconds, config.holdout_max_seconds)
    return cfg


def holdout_evaluation(data: TrainingData, config: TrainingConfig, k: int = 10) -> dict:
    """The production configuration vs popularity on the last 20% of events (by time)."""
    weights = event_type_weights(data.event_types, config.interactions)
    keep = weights > 0
    dataset = InteractionDataset(
        user_ids=np.asarray(data.user_ids, dtype=object)[keep],
        item_ids=np.asarray(data.item_ids, dtype=object)[keep],
        timestamps=np.asarray(data.timestamps)[keep],
        weights=weights[keep],
        items=list(data.items),
        users=list(data.users),
        name="holdout",
    )
    # Event types are already folded into the weights above: do not weigh them twice.
    cfg = _holdout_config(config)
    cfg.interactions = InteractionConfig(
        event_weights={}, half_life_days=config.interactions.half_life_days
    )
    result = evaluate(
        dataset,
        "time",
        k=k,
        models=("popularity", "merchlab"),
        config=cfg,
        full_epochs=False,
        max_users=HOLDOUT_MAX_USERS,
    )
    models = result["models"]
    ours, pop = models.get("merchlab", {}), models.get("popularity", {})
    result["beats_popularity"] = bool(
        ours.get("users") and (ours.get("ndcg") or 0) > (pop.get("ndcg") or 0)
    )
    return result


def _store(merchant, version: int, artifact: RecommenderArtifact) -> tuple[str, int]:
    data = artifact.to_bytes()
    name = f"recsys/merchant-{merchant.pk}/v{version}-{uuid.uuid4().hex[:8]}.npz"
    return default_storage.save(name, ContentFile(data)), len(data)


def _next_version(merchant) -> int:
    return (
        ModelVersion.objects.filter(merchant=merchant).aggregate(m=Max("version"))["m"] or 0
    ) + 1


def _register(
    *, merchant, artifact, kind, job, config, metrics, parent=None, activate=True
) -> ModelVersion:
    from merchandising.accounts.models import Merchant

    with transaction.atomic():
        # Lock the merchant row so two jobs cannot take the same version number.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        number = _next_version(merchant)
        path, size = _store(merchant, number, artifact)
        meta = artifact.meta
        until = meta.get("trained_until")
        version = ModelVersion(
            merchant=merchant,
            version=number,
            kind=kind,
            status=ModelVersion.Status.READY,
            parent=parent,
            job=job,
            config=config.to_dict(),
            metrics=metrics,
            counts={k: v for k, v in meta.items() if isinstance(v, int)},
            training_seconds=float(meta.get("training_seconds") or 0.0)
            + float(meta.get("update_seconds") or 0.0) * (kind == ModelVersion.Kind.UPDATE),
            trained_until=datetime.fromtimestamp(until, tz=UTC) if until else None,
            artifact_path=path,
            artifact_size=size,
        )
        version.full_clean()
        version.save()
        if activate:
            model_version_activate(merchant=merchant, version=version)
    return version


def model_version_activate(*, merchant, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one serving uses (the previous active one is deactivated)."""
    if version.merchant_id != merchant.pk:
        raise ModelVersion.DoesNotExist("No such model version.")
    if version.status != ModelVersion.Status.READY:
        raise ValueError("Only a ready model version can be activated.")
    with transaction.atomic():
        ModelVersion.objects.filter(merchant=merchant, is_active=True).exclude(
            pk=version.pk
        ).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    return version


def model_version_rollback(*, merchant, to_version_id: int | None = None) -> ModelVersion:
    """Activate an earlier version: ``to_version_id``, or else the newest ready version older
    than the active one. Raises ModelVersion.DoesNotExist for an id of another merchant and
    ValueError when there is nothing to go back to."""
    if to_version_id is not None:
        target = ModelVersion.objects.get(merchant=merchant, pk=to_version_id)
    else:
        active = ModelVersion.objects.filter(merchant=merchant, is_active=True).first()
        if active is None:
            raise ValueError("No version is active, so there is nothing to roll back from.")
        target = (
            ModelVersion.objects.filter(
                merchant=merchant, status=ModelVersion.Status.READY, version__lt=active.version
            )
            .order_by("-version")
            .first()
        )
        if target is None:
            raise ValueError(f"There is no ready version before v{active.version}.")
    return model_version_activate(merchant=merchant, version=target)


def recommender_train(
    *,
    merchant,
    job=None,
    report: Report | None = None,
    config: dict | None = None,
    evaluate_holdout: bool = True,
    activate: bool = True,
) -> ModelVersion:
    """Full training (see module docstring). Raises NotEnoughData with what is missing."""
    cfg = training_config(config)
    if report:
        report(1, "reading events and catalog")
    data = training_data_for(merchant)
    if len(data) == 0:
        raise NotEnoughData(
            "Not enough data to train: no product events yet (views, clicks, add-to-cart or "
            "purchases sent to /api/v1/storefront/events or imported with import_events)."
        )
    metrics: dict = {}
    if evaluate_holdout:
        if report:
            report(5, "evaluating on a time hold-out (last 20% of events)")
        try:
            metrics = holdout_evaluation(data, cfg)
        except NotEnoughData as exc:
            metrics = {"skipped": f"hold-out evaluation skipped: {exc}"}
    if evaluate_holdout:
        if report:
            report(30, "comparing every model and their blend on the hold-out")
        try:
            metrics["fusion"] = fusion_holdout(data, _holdout_config(cfg))
        except NotEnoughData as exc:
            metrics["fusion"] = {"skipped": f"blend not fitted: {exc}"}
    artifact = train(data, cfg, _report(report, 50 if evaluate_holdout else 5, 85))
    fusion = metrics.get("fusion") or {}
    if fusion.get("chosen"):
        # Serving reads the blend from the artifact it loads.
        artifact.meta["fusion"] = {"chosen": fusion["chosen"], "weights": fusion["weights"]}
    artifact.components, metrics["components"] = train_components(
        data, cfg, _report(report, 85, 95)
    )
    skipped = {
        name: info["skipped"] for name, info in metrics["components"].items() if "skipped" in info
    }
    if skipped:
        metrics["skipped"] = skipped
    if report:
        report(96, "saving the model")
    holdout_seconds = sum(
        m.get("training_seconds", 0) for m in (metrics.get("models") or {}).values()
    )
    metrics["holdout_training_seconds"] = round(holdout_seconds, 2)
    return _register(
        merchant=merchant,
        artifact=artifact,
        kind=ModelVersion.Kind.FULL,
        job=job,
        config=cfg,
        metrics=metrics,
        activate=activate,
    )


def recommender_update(
    *, merchant, job=None, report: Report | None = None, activate: bool = True
) -> ModelVersion:
    """fit_partial of the active version on events newer than it; a new version."""
    from recsys.selectors import active_model_version, load_artifact

    base = active_model_version(merchant)
    if base is None:
        raise NotEnoughData("No active model to update yet: run a full training first.")
    if report:
        report(2, f"reading events since model v{base.version}")
    data = training_data_for(merchant, since=base.trained_until)
    if len(data) == 0:
        raise NotEnoughData(f"No new events since model v{base.version} was trained.")
    artifact = load_artifact(base)
    updated = update(artifact, data, artifact.config, _report(report, 10, 95))
    metrics = dict(base.metrics or {})
    metrics["updated_from"] = base.version
    metrics["updated_with_interactions"] = updated.meta.get("updated_with")
    updated.meta["trained_until"] = float(np.max(data.timestamps))
    return _register(
        merchant=merchant,
        artifact=updated,
        kind=ModelVersion.Kind.UPDATE,
        job=job,
        config=artifact.config,
        metrics=metrics,
        parent=base,
        activate=activate,
    )


def recommender_train_submit(*, merchant, user=None, config: dict | None = None):
    from merchandising.jobs.services import job_submit
    from recsys import tasks

    return job_submit(
        merchant=merchant,
        kind=JOB_TRAIN,
        task=tasks.recommender_train_task,
        params={"config": config or {}},
        user=user,
        queue="default",
        once_per=("config",),  # the same training twice would register the same model twice
    )


def recommender_update_submit(*, merchant, user=None):
    from merchandising.jobs.services import job_submit
    from recsys import tasks

    return job_submit(
        merchant=merchant,
        kind=JOB_UPDATE,
        task=tasks.recommender_update_task,
        params={},
        user=user,
        queue="default",
        once_per=(),  # an update queued behind another reads the events that one reads
    )
