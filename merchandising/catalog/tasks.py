from celery import shared_task

from merchandising.jobs.runner import run_job


@shared_task(name="catalog.import_catalog", acks_late=True, reject_on_worker_lost=True)
def import_catalog(job_id: int) -> None:
    from .services import product_import_run

    run_job(job_id, lambda job, report: product_import_run(job=job, report=report))
