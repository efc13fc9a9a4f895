"""Reads of contentgen, always scoped by merchant."""

from __future__ import annotations

from django.db.models import QuerySet

from contentgen.models import BrandVoice, CopyDraft
from merchandising.jobs.models import Job


def brand_voice_for(merchant) -> BrandVoice:
    """The merchant's brand voice, or an unsaved one with the defaults."""
    return BrandVoice.objects.filter(merchant=merchant).first() or BrandVoice(merchant=merchant)


def drafts_list(
    merchant,
    *,
    product=None,
    status: str | None = None,
    kind: str | None = None,
    job=None,
) -> QuerySet[CopyDraft]:
    qs = CopyDraft.objects.filter(merchant=merchant).select_related("product")
    if product is not None:
        qs = qs.filter(product=product)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if job is not None:
        qs = qs.filter(job=job)
    return qs.order_by("sku", "kind", "variant", "-created_at")


def drafts_pending_count(merchant) -> int:
    """How many drafts wait for review (the dashboard's badge and home page)."""
    return CopyDraft.objects.filter(merchant=merchant, status=CopyDraft.Status.PENDING).count()


def draft_get(merchant, draft_id: int) -> CopyDraft:
    return CopyDraft.objects.select_related("product").get(merchant=merchant, pk=draft_id)


def generation_jobs(merchant) -> QuerySet[Job]:
    from contentgen.services import GENERATION_JOB_KIND

    return Job.objects.filter(merchant=merchant, kind=GENERATION_JOB_KIND).order_by("-created_at")


def generation_job_get(merchant, job_id: int) -> Job:
    return generation_jobs(merchant).get(pk=job_id)
