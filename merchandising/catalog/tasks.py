from celery import shared_task

from merchandising.jobs.runner import run_job

from .services import product_import_run
from .services_platforms import PLATFORM_FORMATS, product_import_platform_run


@shared_task(name="catalog.import_catalog", acks_late=True, reject_on_worker_lost=True)
def import_catalog(job_id: int) -> None:

    def work(job, report):
        if job.params.get("format") in PLATFORM_FORMATS:
            return product_import_platform_run(job=job, report=report)
        return product_import_run(job=job, report=report)

    run_job(job_id, work)
