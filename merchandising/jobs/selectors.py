from .models import Job


def jobs_list(merchant, *, kind: str | None = None):
    qs = Job.objects.filter(merchant=merchant)
    return qs.filter(kind=kind) if kind else qs


def job_get(merchant, job_id: int) -> Job:
    return Job.objects.get(merchant=merchant, pk=job_id)
