"""Demo-only jobs."""

from celery import shared_task


@shared_task(name="demo.simulate_traffic", acks_late=True, reject_on_worker_lost=True)
def simulate_traffic_task(job_id: int) -> None:
    """Simulated shoppers for one copy experiment (idempotent: the same visits and event ids on a
    re-run, so nothing is counted twice)."""
    from merchandising.experiments.models import Experiment
    from merchandising.jobs.runner import JobError, run_job

    from .experiments_demo import simulate_copy_experiment

    def work(job, report):
        experiment = Experiment.objects.filter(
            merchant=job.merchant, pk=job.params.get("experiment_id")
        ).first()
        if experiment is None:
            raise JobError("The experiment no longer exists.")
        report(5, f"Simulating shoppers on {experiment.key}")
        try:
            visits = simulate_copy_experiment(experiment)
        except ValueError as exc:
            raise JobError(str(exc)) from None
        return {
            "visits": visits,
            "summary": f"{visits:,} simulated visits; the report is up to date.",
        }

    run_job(job_id, work)
