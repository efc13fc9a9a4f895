"""Every write of contentgen: brand voice, generation requests and the drafts a job writes.

Generation writes CopyDraft rows only; live copy changes only through review
(catalog.services.live_copy_publish).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contentgen import specs
from contentgen.adapters import (
    DEFAULT_MODEL_LABEL,
    AdapterFileError,
    adapter_id_for,
    check_adapter_files,
    house_adapter_dir,
)
from contentgen.models import BrandVoice, CopyDraft
from contentgen.prompts import PROMPT_VERSION
from merchandising.catalog.models import Product
from merchandising.jobs.models import Job
from merchandising.jobs.runner import JobError, Report
from merchandising.jobs.services import JobCancelled, job_cancel_check, job_submit

log = logging.getLogger(__name__)

GENERATION_JOB_KIND = "copy_generation"
MAX_PRODUCTS_PER_JOB = 50_000


# --------------------------------------------------------------------------- brand voice


def _clean_terms(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("\r", "").replace("\n", ",").split(",")
    out: list[str] = []
    for item in value:
        item = str(item).strip()
        if item and item.lower() not in {o.lower() for o in out}:
            out.append(item[:100])
    return out[:100]


@transaction.atomic
def brand_voice_update(*, merchant, data: dict, user=None) -> BrandVoice:
    """Create or change the merchant's brand voice. List fields accept lists or comma/line-separated text."""
    voice, _ = BrandVoice.objects.select_for_update().get_or_create(merchant=merchant)
    for key in ("tone", "audience", "language"):
        if key in data and data[key] is not None:
            setattr(voice, key, str(data[key]).strip())
    for key in ("avoid_words", "avoid_claims", "prefer_phrases"):
        if key in data:
            setattr(voice, key, _clean_terms(data[key]))
    if "examples" in data:
        examples = []
        for item in data["examples"] or []:
            if isinstance(item, str):
                item = {"kind": "", "text": item}
            text = item.get("text")
            if text:
                kind = specs.normalize_kind(item["kind"]) if item.get("kind") else ""
                examples.append(
                    {"kind": kind, "text": text, "source": item.get("source", "manual")}
                )
        voice.examples = examples
    voice.language = voice.language or "en"
    voice.tone = voice.tone or BrandVoice.Tone.FRIENDLY
    voice.updated_by = user if getattr(user, "pk", None) else None
    voice.full_clean()
    voice.save()
    return voice


@transaction.atomic
def brand_voice_add_example(
    *, merchant, kind: str, text, source: str = "approved", category: str = "", sku: str = ""
) -> BrandVoice:
    """Add approved copy as a brand-voice example (review calls this); keeps the newest few per
    kind. ``category`` and ``sku`` let generation pick the examples nearest a product."""
    kind = specs.normalize_kind(kind)
    voice, _ = BrandVoice.objects.select_for_update().get_or_create(merchant=merchant)
    examples = [e for e in voice.examples or [] if e.get("text") != text]
    example = {"kind": kind, "text": text, "source": source}
    if category:
        example["category"] = str(category)[:300]
    if sku:
        example["sku"] = str(sku)[:100]
    examples.append(example)
    same = [e for e in examples if e.get("kind") == kind]
    if len(same) > BrandVoice.MAX_EXAMPLES_PER_KIND:
        drop = same[: len(same) - BrandVoice.MAX_EXAMPLES_PER_KIND]
        examples = [e for e in examples if not any(e is d for d in drop)]
    voice.examples = examples
    voice.full_clean()
    voice.save()
    return voice


# --------------------------------------------------------------------------- generation requests


def _select_products(merchant, *, skus, category, all_products) -> list[int]:
    chosen = [bool(skus), bool(category), bool(all_products)]
    if sum(chosen) != 1:
        raise ValidationError(
            "Choose exactly one of: product SKUs, a category, or the whole catalog."
        )
    qs = Product.objects.filter(merchant=merchant, status=Product.Status.ACTIVE)
    if skus:
        skus = list(dict.fromkeys(str(s).strip() for s in skus if str(s).strip()))
        found = dict(
            Product.objects.filter(merchant=merchant, sku__in=skus).values_list("sku", "pk")
        )
        missing = [s for s in skus if s not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ValidationError(f"Unknown SKUs: {shown}")
        return [found[s] for s in skus]
    if category:
        qs = qs.filter(category=category) | qs.filter(category__startswith=category + " > ")
    ids = list(qs.order_by("sku").values_list("pk", flat=True)[: MAX_PRODUCTS_PER_JOB + 1])
    if not ids:
        raise ValidationError("No active products match this selection.")
    if len(ids) > MAX_PRODUCTS_PER_JOB:
        raise ValidationError(f"At most {MAX_PRODUCTS_PER_JOB} products per generation job.")
    return ids


def segment_target(merchant, segment) -> dict | None:
    """Who copy for ``segment`` (a segment id; empty: every shopper) is written for:
    ``{"key", "name", "description", "categories"}``, or None for every shopper. An unknown,
    archived or other merchant's segment is a ValidationError on the ``segment`` field."""
    if segment in (None, ""):
        return None
    from django.apps import apps

    if not apps.is_installed("recsys.segments"):
        raise ValidationError({"segment": "Shopper segments are not installed."})
    from recsys.segments.models import Segment
    from recsys.segments.selectors import segment_copy_target

    try:
        return segment_copy_target(merchant, segment)
    except Segment.DoesNotExist:
        raise ValidationError(
            {"segment": f"Unknown segment {str(segment)[:40]!r}: give the id of an active segment."}
        ) from None


def generation_request(
    *,
    merchant,
    kinds,
    skus: list[str] | None = None,
    category: str = "",
    all_products: bool = False,
    variants: int | None = None,
    segment: str | int | None = "",
    user=None,
) -> Job:
    """Queue a generation Job on the ``gpu`` queue for the selected products and kinds.

    The selection is resolved now (product ids in the job's params), so the job writes
    drafts for exactly what the merchant saw when pressing Generate. With ``segment`` (a
    segment id) the drafts are written for that shopper segment: the prompt says who they are
    for, and approving one makes it that segment's copy, not the general live copy.
    """
    from contentgen.tasks import generate_copy_job

    try:
        kind_list = specs.parse_kinds(kinds)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if variants is not None and not 1 <= int(variants) <= 5:
        raise ValidationError("Variants must be between 1 and 5.")
    target = segment_target(merchant, segment)
    product_ids = _select_products(
        merchant, skus=skus, category=category, all_products=all_products
    )
    selection = (
        {"skus": list(skus)[:50]} if skus else {"category": category} if category else {"all": True}
    )
    with transaction.atomic():
        return job_submit(
            merchant=merchant,
            kind=GENERATION_JOB_KIND,
            task=generate_copy_job,
            params={
                "product_ids": product_ids,
                "kinds": kind_list,
                "variants": variants,
                "segment": target["key"] if target else "",
                # Who the copy is for, as the merchant saw the segment when pressing Generate.
                "audience": (
                    {k: target[k] for k in ("name", "description", "categories")}
                    if target
                    else None
                ),
                "selection": selection,
                "seed": 0,
            },
            user=user,
            queue="gpu",
            # The same products, kinds, variants and segment again while that job is unfinished
            # get that job; other work is queued (it writes other drafts).
            once_per=("product_ids", "kinds", "variants", "segment"),
        )


# --------------------------------------------------------------------------- running a job


def _active_adapter(merchant) -> str | None:
    """The merchant's active LoRA adapter folder, from fine-tuning's registry when it provides one."""
    try:
        from contentgen.finetuning.selectors import active_adapter_dir  # owned by fine-tuning
    except ImportError:
        return None
    return active_adapter_dir(merchant)


def _duration_words(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{max(seconds, 1)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _generation_backend(merchant) -> tuple:
    """(backend, notice) for the merchant: its own active adapter, else the house adapter,
    else the base model. A missing or corrupt file of the merchant's adapter fails the job
    with a message naming the file; a broken house adapter falls back to the base model with
    a notice for the job's page."""
    from contentgen import backends  # torch stays out of the web process

    model = getattr(settings, "CONTENTGEN_BASE_MODEL", "") or None
    adapter = _active_adapter(merchant)
    notice = ""
    if adapter is not None:
        try:
            check_adapter_files(adapter)
        except AdapterFileError as exc:
            raise JobError(str(exc)) from exc
    else:
        house = house_adapter_dir(model)
        if house is not None:
            try:
                check_adapter_files(house, model or DEFAULT_MODEL_LABEL)
                adapter = str(house)
            except AdapterFileError as exc:
                log.warning("house adapter not used: %s", exc)
                notice = f"Warning: the house adapter could not be used ({exc}); writing with the base model."
    try:
        backend = backends.load_backend(model, adapter=adapter)
    except backends.ModelLoadError as exc:
        if adapter is None or adapter != str(house_adapter_dir(model) or ""):
            raise JobError(str(exc)) from exc
        log.warning("house adapter not used: %s", exc)
        notice = (
            f"Warning: the house adapter could not be loaded ({exc}); writing with the base model."
        )
        try:
            backend = backends.load_backend(model, adapter=None)
        except backends.ModelLoadError as exc2:
            raise JobError(str(exc2)) from exc2
    return backend, notice


def drafts_save(
    *,
    merchant,
    product: Product,
    result,
    job: Job | None,
    model_id: str,
    adapter_id: str = "",
    segment: str = "",
) -> list[CopyDraft]:
    """Write a generation result's variants as pending drafts (idempotent per job).

    Older pending drafts of the same product, kind and segment from other jobs become
    ``superseded`` so the review queue shows the newest generation only.
    """
    spec = specs.get_spec(result.kind)
    saved: list[CopyDraft] = []
    with transaction.atomic():
        for variant in result.variants:
            draft, _ = CopyDraft.objects.update_or_create(
                job=job,
                product=product,
                kind=spec.name,
                variant=variant.index,
                segment=segment,
                defaults={
                    "merchant": merchant,
                    "sku": product.sku,
                    "field": spec.field,
                    "text": variant.text,
                    "flags": variant.flags,
                    "passed": variant.passed,
                    "coverage": variant.coverage,
                    "seed": variant.seed,
                    "attempts": variant.attempts,
                    "model_id": model_id[:300],
                    "adapter_id": adapter_id[:300],
                    "rank": getattr(variant, "rank", {}) or {},
                    "prompt_version": PROMPT_VERSION,
                    "warnings": result.warnings,
                    "status": CopyDraft.Status.PENDING,
                    "product_updated_at": product.updated_at,
                },
            )
            saved.append(draft)
        stale = CopyDraft.objects.filter(
            merchant=merchant,
            product=product,
            kind=spec.name,
            segment=segment,
            status=CopyDraft.Status.PENDING,
        )
        if job is not None:
            stale = stale.exclude(job=job)
        else:  # no job to tell this save's rows apart: leave out the rows just written
            stale = stale.exclude(pk__in=[draft.pk for draft in saved])
        stale.update(status=CopyDraft.Status.SUPERSEDED, updated_at=timezone.now())
    return saved


def generation_run(*, job: Job, report: Report) -> dict:
    """The work of a generation job: load the model once, generate per chunk, save drafts, report.

    Products whose drafts this job already wrote (a redelivered task) are skipped.
    Cancelling stops decoding within one step (the backend asks the job's cancel flag after
    every step); the fields being decoded are dropped, drafts already written stay.
    """
    from contentgen.backends import GenerationStopped  # torch stays out of the web process
    from contentgen.generation import (
        DEFAULT_CANDIDATES,
        CopyRequest,
        GenerationStats,
        iter_generate,
    )
    from contentgen.selectors import brand_voice_for

    merchant = job.merchant
    params = job.params
    kinds: list[str] = params["kinds"]
    segment = params.get("segment") or ""
    audience = params.get("audience") or segment or None
    variants = params.get("variants")
    products = {
        p.pk: p for p in Product.objects.filter(merchant=merchant, pk__in=params["product_ids"])
    }
    ordered = [products[pk] for pk in params["product_ids"] if pk in products]
    # a redelivered task skips the product fields this job already finished (all variants saved)
    saved_counts: dict[tuple[int, str], int] = {}
    for product_id, kind in CopyDraft.objects.filter(job=job).values_list("product_id", "kind"):
        saved_counts[(product_id, kind)] = saved_counts.get((product_id, kind), 0) + 1
    done_keys = {
        key
        for key, count in saved_counts.items()
        if count >= (variants or specs.get_spec(key[1]).variants)
    }
    todo = [(p, k) for p in ordered for k in kinds if (p.pk, k) not in done_keys]
    total = len(ordered) * len(kinds)
    report(0, f"Loading the model for {len(ordered)} products")
    backend, notice = _generation_backend(merchant)
    voice = brand_voice_for(merchant).as_prompt_voice()
    by_key = {p.sku: p for p in ordered}
    requests = [CopyRequest(p.sku, p.facts(), k) for p, k in todo]
    stats = GenerationStats()
    finished = total - len(todo)
    drafts = passed = 0
    batch_size = int(getattr(settings, "CONTENTGEN_BATCH_SIZE", 16))
    prefix = f"{notice} " if notice else ""
    report(
        int(100 * finished / max(total, 1)),
        f"{prefix}Generating {len(todo)} of {total} product fields",
    )
    started = time.monotonic()
    done_here = 0
    results = iter_generate(
        backend,
        requests,
        voice=voice,
        segment=audience,
        variants=variants,
        candidates=int(getattr(settings, "CONTENTGEN_CANDIDATES", DEFAULT_CANDIDATES)),
        seed=int(params.get("seed", 0)),
        batch_size=batch_size,
        stats=stats,
        max_new_tokens=getattr(settings, "CONTENTGEN_MAX_NEW_TOKENS", None),
        should_stop=job_cancel_check(job_id=job.pk),
    )
    while True:
        try:
            result = next(results)
        except StopIteration:
            break
        except GenerationStopped:
            raise JobCancelled() from None
        saved = drafts_save(
            merchant=merchant,
            product=by_key[result.key],
            result=result,
            job=job,
            model_id=backend.label,
            adapter_id=adapter_id_for(backend.adapter),
            segment=segment,
        )
        drafts += len(saved)
        passed += sum(1 for d in saved if d.passed)
        finished += 1
        done_here += 1
        left = (time.monotonic() - started) / done_here * (len(todo) - done_here)
        report(
            min(99, int(100 * finished / max(total, 1))),
            f"{prefix}{finished} of {total} product fields done, {drafts} drafts"
            + (f", about {_duration_words(left)} left" if finished < total else ""),
        )
    if len(todo) < total:  # a redelivered job: count what its earlier attempt saved too
        drafts = CopyDraft.objects.filter(job=job).count()
        passed = CopyDraft.objects.filter(job=job, passed=True).count()
    rate = f"{passed / drafts:.0%}" if drafts else "n/a"
    return {
        "products": len(ordered),
        "kinds": kinds,
        "drafts": drafts,
        "passed": passed,
        "guard_pass_rate": round(passed / drafts, 3) if drafts else None,
        "tokens": stats.new_tokens,
        "tokens_per_second": round(stats.tokens_per_second, 1),
        "model": backend.model_id,
        "adapter": adapter_id_for(backend.adapter) or "base model",
        "summary": f"{prefix}{drafts} drafts for {len(ordered)} products ({rate} passed the guards).",
    }


# --------------------------------------------------------------------------- demo

DEMO_SEGMENT_MODEL = "demo (written from catalog facts, not by the model)"


def segment_drafts_demo(*, merchant, segment_id=None, limit: int = 3) -> list[CopyDraft]:
    """For the demo: pending description drafts written for one shopper segment (the largest
    active found segment unless ``segment_id`` is given) on products of its top category,
    made from each product's live description with a line saying whom it is for. They are
    labelled as demo-written (``model_id``), carry the guards' verdict like generated drafts,
    and are reviewed like any other; approving one makes it that segment's copy. Idempotent:
    one draft per product (variant 0, no job), updated in place while pending."""
    from django.apps import apps

    from contentgen.guards import check_copy
    from contentgen.selectors import brand_voice_for

    if not apps.is_installed("recsys.segments"):
        return []
    from recsys.segments.models import Segment

    if segment_id is None:
        segment = (
            Segment.objects.filter(merchant=merchant, is_active=True, kind=Segment.Kind.FOUND)
            .order_by("-size", "pk")
            .first()
        )
        if segment is None:
            return []
        segment_id = segment.pk
    target = segment_target(merchant, segment_id)
    spec = specs.get_spec("description")
    voice = brand_voice_for(merchant).as_prompt_voice()
    products = Product.objects.filter(merchant=merchant, status=Product.Status.ACTIVE)
    if target["categories"]:
        top = target["categories"][0]
        products = products.filter(category__startswith=top)
    lead = f"Picked for {target['description'] or target['name']}."
    saved: list[CopyDraft] = []
    for product in products.order_by("-stock", "sku")[: limit * 3]:
        facts = product.facts()
        base = (facts.get("copy") or {}).get("description")
        if not isinstance(base, str) or not base.strip():
            continue
        text = f"{lead[0].upper()}{lead[1:]} {base.strip()}"
        guard = check_copy(spec.name, text, facts, voice)
        if guard.hard_count:
            continue
        draft, _ = CopyDraft.objects.update_or_create(
            job=None,
            product=product,
            kind=spec.name,
            variant=0,
            segment=target["key"],
            status=CopyDraft.Status.PENDING,
            defaults={
                "merchant": merchant,
                "sku": product.sku,
                "field": spec.field,
                "text": text,
                "flags": guard.flag_dicts(),
                "passed": guard.passed,
                "coverage": guard.coverage,
                "model_id": DEMO_SEGMENT_MODEL,
                "prompt_version": PROMPT_VERSION,
                "product_updated_at": product.updated_at,
            },
        )
        saved.append(draft)
        if len(saved) >= limit:
            break
    return saved
