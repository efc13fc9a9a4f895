"""Celery tasks of the recommender (queue ``default``): thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from merchandising.jobs.runner import JobError, run_job


def _registered(job):
    """The version an earlier delivery of this job registered before its worker died, if any:
    a redelivery finishes the job with it instead of training a second version."""
    from recsys.models import ModelVersion

    return ModelVersion.objects.filter(merchant=job.merchant, job=job).first()


def _train(job, report):
    from recsys.services import recommender_train
    from recsys.training import NotEnoughData

    if (version := _registered(job)) is not None:
        return _summary(version, "trained")
    try:
        version = recommender_train(
            merchant=job.merchant, job=job, report=report, config=(job.params or {}).get("config")
        )
    except NotEnoughData as exc:
        raise JobError(str(exc)) from exc
    return _summary(version, "trained")


def _update(job, report):
    from recsys.services import recommender_update
    from recsys.training import NotEnoughData

    if (version := _registered(job)) is not None:
        return _summary(version, "updated")
    try:
        version = recommender_update(merchant=job.merchant, job=job, report=report)
    except NotEnoughData as exc:
        raise JobError(str(exc)) from exc
    return _summary(version, "updated")


def _summary(version, verb: str) -> dict:
    models = (version.metrics or {}).get("models") or {}
    ours, pop = models.get("merchlab") or {}, models.get("popularity") or {}
    text = f"Model v{version.version} {verb} in {version.training_seconds:.1f} s"
    if ours.get("ndcg") is not None and pop.get("ndcg") is not None:
        text += f"; hold-out NDCG@10 {ours['ndcg']:.3f} vs popularity {pop['ndcg']:.3f}"
    for name, why in ((version.metrics or {}).get("skipped") or {}).items():
        text += f"; {name} skipped: {why}"
    return {
        "summary": text + ".",
        "model_version_id": version.pk,
        "version": version.version,
        "counts": version.counts,
    }


@shared_task(name="recsys.train", acks_late=True, reject_on_worker_lost=True)
def recommender_train_task(job_id: int) -> None:
    run_job(job_id, _train)


@shared_task(name="recsys.update", acks_late=True, reject_on_worker_lost=True)
def recommender_update_task(job_id: int) -> None:
    run_job(job_id, _update)


@shared_task(name="recsys.train_all", acks_late=True)
def recommender_train_all() -> int:
    """Beat: a full training job for every merchant with product events (nightly)."""
    return _submit_all(update=False)


@shared_task(name="recsys.update_all", acks_late=True)
def recommender_update_all() -> int:
    """Beat: an incremental update for every merchant whose active model has newer events."""
    return _submit_all(update=True)


def _submit_all(*, update: bool) -> int:
    from merchandising.accounts.models import Merchant
    from merchandising.jobs.models import Job
    from merchandising.tracking.models import Event
    from recsys import services
    from recsys.selectors import active_model_version

    submitted = 0
    busy = {Job.Status.QUEUED, Job.Status.RUNNING}
    for merchant in Merchant.objects.all():
        kinds = (services.JOB_TRAIN, services.JOB_UPDATE)
        if Job.objects.filter(merchant=merchant, kind__in=kinds, status__in=busy).exists():
            continue  # one recommender job at a time per merchant
        events = Event.objects.filter(merchant=merchant).exclude(type="impression")
        if update:
            active = active_model_version(merchant)
            if active is None or not events.filter(ts__gt=active.trained_until).exists():
                continue
            services.recommender_update_submit(merchant=merchant)
        else:
            if not events.exists():
                continue
            services.recommender_train_submit(merchant=merchant)
        submitted += 1
    return submitted
