"""Reads of the fine-tuning registry and its training data, always scoped by merchant."""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from contentgen.adapters import (
    DEFAULT_MODEL_LABEL,
    AdapterFileError,
    check_adapter_files,
    house_adapter_dir,
)
from contentgen.finetuning import data as D
from contentgen.finetuning import training as T
from contentgen.finetuning.models import AdapterActivation, AdapterVersion
from contentgen.specs import normalize_kind
from merchandising.jobs.models import Job

log = logging.getLogger(__name__)

FINETUNE_JOB_KIND = "finetune"


def base_models_allowed() -> dict[str, str]:
    """The base models a merchant may fine-tune, by the name the API and pages show -> the model
    id or local path the worker loads. ``default`` (the configured generation model) always;
    more only as the operator lists them in ``CONTENTGEN_FINETUNE_MODELS`` ("name=id-or-path" or
    a Hugging Face id, comma-separated). A request names one of these, never a path."""
    allowed = {"default": ""}
    for entry in getattr(settings, "CONTENTGEN_FINETUNE_MODELS", []):
        name, sep, source = entry.partition("=")
        name, source = name.strip(), source.strip()
        if not sep:
            source = name
        if name and source:
            allowed[name] = source
    return allowed


def adapter_list(merchant) -> QuerySet[AdapterVersion]:
    return AdapterVersion.objects.filter(merchant=merchant).select_related(
        "activated_by", "created_by", "job"
    )


def adapter_get(merchant, adapter_id: int) -> AdapterVersion:
    """The merchant's adapter ``adapter_id``; another merchant's id raises DoesNotExist (404)."""
    return adapter_list(merchant).get(pk=adapter_id)


def active_adapter(merchant) -> AdapterVersion | None:
    return adapter_list(merchant).filter(is_active=True, status=AdapterVersion.Status.READY).first()


def activation_history(merchant, limit: int = 20) -> list[AdapterActivation]:
    return list(
        AdapterActivation.objects.filter(merchant=merchant).select_related("adapter", "user")[
            :limit
        ]
    )


def training_in_progress(merchant) -> AdapterVersion | None:
    """The run still queued or running (a run whose job was cancelled before it started, or
    failed outside the work function, does not count)."""
    return (
        adapter_list(merchant)
        .filter(
            status=AdapterVersion.Status.TRAINING,
            job__status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
        )
        .first()
    )


def finetune_jobs(merchant) -> QuerySet[Job]:
    return Job.objects.filter(merchant=merchant, kind=FINETUNE_JOB_KIND)


# --------------------------------------------------------------------------- adapter files


def cache_root() -> Path:
    """Local folder where workers keep adapter files copied out of storage."""
    configured = getattr(settings, "FINETUNE_CACHE_DIR", None)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT).parent / "adapter_cache"


def adapter_local_dir(adapter: AdapterVersion) -> str:
    """A local folder holding ``adapter``'s files (copied from storage on first use).

    The folder name is stable per adapter row, so the generation backend keeps it loaded
    and swaps to it by path instead of reloading.
    """
    target = cache_root() / str(adapter.merchant_id) / f"v{adapter.version}-{adapter.pk}"
    if (target / "COMPLETE").exists():
        return str(target)
    tmp = target.with_name(target.name + f".tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for name in adapter.artifact_files:
            with default_storage.open(f"{adapter.artifact_prefix}/{name}", "rb") as src:
                with open(tmp / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        (tmp / "COMPLETE").write_text("ok")
        if not (target / "COMPLETE").exists():
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def house_adapter_summary() -> dict | None:
    """What the page says about the house adapter, or None when generation does not use it
    (another base model, ``CONTENTGEN_HOUSE_ADAPTER=0``, or its files are broken)."""
    folder = house_adapter_dir(getattr(settings, "CONTENTGEN_BASE_MODEL", "") or None)
    if folder is None:
        return None
    try:
        check_adapter_files(folder, DEFAULT_MODEL_LABEL)
        card = json.loads((folder / "data_card.json").read_text())
    except (AdapterFileError, OSError, ValueError):
        return None
    loss = card.get("held_out_loss") or {}
    return {
        "examples": card.get("train_examples"),
        "base_loss": (loss.get("base") or {}).get("eval_loss"),
        "house_loss": (loss.get("house") or {}).get("eval_loss"),
        "built": card.get("built", ""),
    }


def worker_base_model() -> str:
    """The base model the generation workers load (``CONTENTGEN_BASE_MODEL``; empty = the default)."""
    return getattr(settings, "CONTENTGEN_BASE_MODEL", "") or T.DEFAULT_MODEL_LABEL


def base_model_mismatch(adapter: AdapterVersion) -> str:
    """Why ``adapter`` cannot be used by the workers' base model, or "" when it can.

    A LoRA adapter only fits the model it was trained on (its weights have that model's shapes
    and meaning), so an adapter of another base model must not be activated.
    """
    worker = worker_base_model()
    if T.base_model_key(adapter.base_model) == T.base_model_key(worker):
        return ""
    return (
        f"Adapter v{adapter.version} was trained on the base model {adapter.base_model!r}, but "
        f"generation uses {worker!r} (CONTENTGEN_BASE_MODEL). An adapter only works on the "
        f"model it was trained on: train a new adapter on {worker!r}, or point "
        f"CONTENTGEN_BASE_MODEL back at {adapter.base_model!r}."
    )


def active_adapter_path(merchant) -> str | None:
    """Local folder of the merchant's active adapter, or None for the base model.

    This is what generation passes to ``contentgen.backends.load_backend(adapter=...)``.
    """
    adapter = active_adapter(merchant)
    if adapter is None or not adapter.artifact_files:
        return None
    mismatch = base_model_mismatch(adapter)
    if mismatch:
        # the workers' model changed after activation: generate with the base model, not fail
        log.warning("merchant %s: active adapter not used. %s", merchant.pk, mismatch)
        return None
    return adapter_local_dir(adapter)


# contentgen.services looks the selector up under this name.
active_adapter_dir = active_adapter_path


# --------------------------------------------------------------------------- training data


def _kind_for_field(field: str, value) -> str:
    if field == "description":
        lines = value if isinstance(value, list) else str(value).splitlines()
        lines = [ln for ln in lines if str(ln).strip()]
        if lines and all(str(ln).lstrip().startswith("- ") for ln in lines) and len(lines) > 1:
            return "bullets"
        return "description"
    return normalize_kind(field)


PAST_COPY_FILE = "past-copy.jsonl"


def past_copy_path(merchant) -> str:
    """Storage path of the merchant's standing past copy (uploaded once, used by every run)."""
    return f"finetune/{merchant.pk}/{PAST_COPY_FILE}"


def past_copy_report_path(merchant) -> str:
    return f"finetune/{merchant.pk}/past-copy-report.json"


def past_copy_status(merchant) -> dict | None:
    """The standing past copy as the page shows it: the upload's report (kept per kind, left
    out and why), or a count when it came in without one; None when there is none."""
    records = past_copy_records(merchant)
    if not records:
        return None
    return {**past_copy_empty(), **_past_copy_report(merchant, records), "uploaded": True}


def past_copy_empty() -> dict:
    """The status when the merchant has no past copy."""
    return {
        "uploaded": False,
        "filename": "",
        "uploaded_at": None,
        "uploaded_by": "",
        "partial": False,
        "lines": 0,
        "kept": 0,
        "per_kind": {},
        "left_out": {},
        "left_out_total": 0,
        "problems": [],
    }


def _past_copy_report(merchant, records: list[D.CopyRecord]) -> dict:
    import json

    report: dict = {}
    path = past_copy_report_path(merchant)
    if default_storage.exists(path):
        with default_storage.open(path, "rb") as fh:
            try:
                report = json.loads(fh.read())
            except ValueError:
                report = {}
    per_kind: dict[str, int] = {}
    for r in records:
        try:
            kind = normalize_kind(r.kind)
        except ValueError:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
    return {"lines": len(records), **report, "kept": len(records), "per_kind": per_kind}


def past_copy_records(merchant) -> list[D.CopyRecord]:
    """The past copy the merchant uploaded as its own (``services.past_copy_upload``)."""
    path = past_copy_path(merchant)
    if not default_storage.exists(path):
        return []
    with default_storage.open(path, "rb") as fh:
        records, _ = D.parse_upload(fh.read(), PAST_COPY_FILE)
    for i, record in enumerate(records, start=1):
        record.source = "upload"
        record.ref = f"past copy line {i}"
    return records


def training_records(merchant) -> list[D.CopyRecord]:
    """The merchant's approved and edited copy, and its uploaded past copy, as training records.

    Approved review decisions (``contentgen.review.selectors.approved_examples``: newest per
    product and kind, texts approved despite a hard guard left out) plus copy a person typed
    straight into a product (``CopyRevision`` source "edited" with no review decision), newest
    per product and field. Facts leave out the approved field's live copy so the answer
    cannot leak into the prompt.
    """
    from contentgen.review.models import ReviewDecision
    from contentgen.review.selectors import approved_examples
    from merchandising.catalog.models import CopyRevision, LiveCopy, Product

    records: list[D.CopyRecord] = []
    covered: set[tuple[int, str]] = set()
    for ex in approved_examples(merchant):
        records.append(
            D.CopyRecord(
                facts=ex.facts,
                kind=ex.kind,
                value=ex.text,
                source="edited" if ex.edited else "approved",
                ref=f"decision {ex.decision_id}",
            )
        )
        covered.add((ex.sku, ex.kind))

    reviewed = ReviewDecision.objects.filter(merchant=merchant, revision__isnull=False).values(
        "revision_id"
    )
    newest: dict[tuple[int, str], CopyRevision] = {}
    for rev in (
        CopyRevision.objects.filter(merchant=merchant, source="edited")
        .exclude(pk__in=reviewed)
        .order_by("created_at", "id")
    ):
        newest[(rev.product_id, rev.field)] = rev
    if newest:
        products = {
            p.pk: p
            for p in Product.objects.filter(
                merchant=merchant, pk__in={pid for pid, _ in newest}, status="active"
            )
        }
        live: dict[int, dict] = {pid: {} for pid in products}
        for c in LiveCopy.objects.filter(merchant=merchant, product_id__in=products):
            live[c.product_id][c.field] = c.value
        for (pid, field), rev in newest.items():
            product = products.get(pid)
            if product is None or not rev.value:
                continue
            kind = _kind_for_field(field, rev.value)
            if (product.sku, kind) in covered:
                continue
            copy = {f: v for f, v in live[pid].items() if f != field}
            records.append(
                D.CopyRecord(
                    facts=product.facts(live_copy=copy),
                    kind=kind,
                    value=rev.value,
                    source="edited",
                    ref=f"revision {rev.pk}",
                )
            )
            covered.add((product.sku, kind))
    # past copy the merchant uploaded as its own; a newer human decision on the same product
    # and kind wins
    for record in past_copy_records(merchant):
        try:
            kind = normalize_kind(record.kind)
        except ValueError:
            kind = record.kind
        if (record.facts.get("sku"), kind) not in covered:
            records.append(record)
    return records


def training_data_summary(merchant) -> dict:
    """Counts per kind with an "enough?" verdict, before the tokenizer-level checks."""
    records = training_records(merchant)
    per_kind: dict[str, int] = {}
    for r in records:
        try:
            kind = normalize_kind(r.kind)
        except ValueError:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
    total = sum(per_kind.values())
    return {
        "total": total,
        "kinds": D.kind_verdicts(per_kind),
        "min_examples": D.MIN_EXAMPLES,
        "enough_per_kind": D.ENOUGH_PER_KIND,
        "enough": total >= D.MIN_EXAMPLES,
        "sources": {
            "approved": sum(1 for r in records if r.source == "approved"),
            "edited": sum(1 for r in records if r.source == "edited"),
            "upload": sum(1 for r in records if r.source == "upload"),
        },
    }
