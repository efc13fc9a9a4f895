"""Celery task of fine-tuning (queue ``gpu``, worker concurrency 1)."""

from celery import shared_task

from merchandising.jobs.runner import run_job


@shared_task(name="finetuning.finetune_run", acks_late=True, reject_on_worker_lost=True)
def finetune_run_task(job_id: int) -> None:
    from contentgen.finetuning.services import finetune_run

    run_job(job_id, lambda job, report: finetune_run(job=job, report=report))
