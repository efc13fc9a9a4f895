"""Celery tasks of contentgen (queue ``gpu``; run that worker with concurrency 1 so the model stays loaded)."""

from celery import shared_task

from merchandising.jobs.runner import run_job


@shared_task(name="contentgen.generate_copy", acks_late=True, reject_on_worker_lost=True)
def generate_copy_job(job_id: int) -> None:
    from contentgen.services import generation_run

    run_job(job_id, lambda job, report: generation_run(job=job, report=report))
