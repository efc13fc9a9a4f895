from celery import shared_task


@shared_task(name="experiments.rollup", acks_late=True, reject_on_worker_lost=True)
def experiment_rollup_task(experiment_id: int, full: bool = False) -> int:
    """Recompute one experiment's daily roll-ups (idempotent: rows are replaced per day)."""
    from .models import Experiment
    from .services import experiment_rollup

    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        return 0
    return experiment_rollup(experiment=experiment, full=full)


@shared_task(name="experiments.rollup_running", acks_late=True, reject_on_worker_lost=True)
def experiments_rollup_running_task() -> int:
    """Periodic: roll up all running, paused and recently stopped experiments."""
    from .services import experiments_rollup_running

    return experiments_rollup_running()
