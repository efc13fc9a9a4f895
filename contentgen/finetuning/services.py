"""Writes of fine-tuning: start a run, do the run (in the gpu worker), activate and roll back."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from contentgen.adapters import (
    DEFAULT_MODEL_LABEL,
    AdapterFileError,
    check_adapter_files,
    house_adapter_dir,
)
from contentgen.finetuning import data as D
from contentgen.finetuning import selectors
from contentgen.finetuning import training as T
from contentgen.finetuning.models import AdapterActivation, AdapterVersion
from merchandising.accounts.models import Merchant
from merchandising.jobs.models import Job
from merchandising.jobs.runner import JobError, Report
from merchandising.jobs.services import JobCancelled, job_submit

log = logging.getLogger(__name__)

RECORDS_FILE = "records.jsonl"
# keys of AdapterVersion.training_settings that belong to the run, not to LoraSettings
RUN_KEYS = ("eval_fraction", "eval_samples", "model")


def _work_root() -> Path:
    configured = getattr(settings, "FINETUNE_WORK_DIR", None)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT).parent / "finetune_work"


def work_dir(adapter: AdapterVersion) -> Path:
    """Local folder of one run: data snapshot and checkpoints survive a worker restart here."""
    return _work_root() / str(adapter.merchant_id) / str(adapter.pk)


def _storage_prefix(adapter: AdapterVersion) -> str:
    return f"finetune/{adapter.merchant_id}/v{adapter.version}-{adapter.pk}"


# --------------------------------------------------------------------------- start


def finetune_start(
    *,
    merchant: Merchant,
    user=None,
    training_settings: dict | None = None,
    model: str | None = None,
    eval_fraction: float = 0.2,
    auto_activate: bool = False,
    eval_samples: int = 12,
    upload: bytes | None = None,
    upload_name: str = "",
) -> AdapterVersion:
    """Register a new adapter version and queue its training as a Job on the ``gpu`` queue.

    ``eval_samples`` held-out prompts are generated with base and adapter for the guard pass
    rate, coverage and side-by-side samples (0 skips that). Refuses (ValidationError) unknown or invalid settings, a second run while one is training,
    an unreadable upload, and fewer than ``data.MIN_EXAMPLES`` candidate examples.
    """
    try:
        lora = T.LoraSettings.from_dict(training_settings)
    except T.FinetuneError as exc:
        raise ValidationError(str(exc)) from exc
    if not 0 < eval_fraction < 0.5:
        raise ValidationError("The held-out fraction must be between 0 and 0.5.")
    upload_records: list[D.CopyRecord] = []
    upload_errors: list[str] = []
    if upload:
        try:
            upload_records, upload_errors = D.parse_upload(upload, upload_name or "upload.jsonl")
        except D.UploadError as exc:
            raise ValidationError(str(exc)) from exc
    candidates = len(selectors.training_records(merchant)) + len(upload_records)
    if candidates < D.MIN_EXAMPLES:
        raise ValidationError(
            f"Only {candidates} approved or uploaded texts; at least {D.MIN_EXAMPLES} are needed "
            "so that a held-out part can show whether the adapter is better. Approve more drafts "
            "or upload past copy."
        )
    from contentgen.backends import resolve_model
    from contentgen.finetuning.tasks import finetune_run_task

    model = model or getattr(settings, "CONTENTGEN_BASE_MODEL", "") or None
    try:
        _, _, label = resolve_model(model)
    except Exception as exc:
        raise ValidationError(str(exc)) from exc

    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        if selectors.training_in_progress(merchant):
            raise ValidationError("A fine-tuning run is already in progress for this shop.")
        version = (
            AdapterVersion.objects.filter(merchant=merchant).aggregate(m=Max("version"))["m"] or 0
        ) + 1
        adapter = AdapterVersion(
            merchant=merchant,
            version=version,
            base_model=label,
            training_settings={
                **lora.to_dict(),
                "eval_fraction": eval_fraction,
                "eval_samples": max(0, int(eval_samples)),
                "model": model or "",
            },
            auto_activate=auto_activate,
            created_by=user if getattr(user, "pk", None) else None,
        )
        adapter.full_clean()
        adapter.save()
        upload_path = ""
        if upload_records:
            upload_path = default_storage.save(
                f"{_storage_prefix(adapter)}/upload.jsonl",
                ContentFile(D.records_to_jsonl(upload_records).encode()),
            )
        job = job_submit(
            merchant=merchant,
            kind=selectors.FINETUNE_JOB_KIND,
            task=finetune_run_task,
            params={
                "adapter_id": adapter.pk,
                "upload": upload_path,
                "upload_errors": upload_errors[:50],
            },
            user=user,
            queue="gpu",
        )
        adapter.job = job
        adapter.save(update_fields=["job"])
    return adapter


def past_copy_upload(
    *, merchant: Merchant, content: bytes, filename: str, replace: bool = True
) -> tuple[int, list[str]]:
    """Keep a JSONL or CSV of past copy the merchant owns as standing training data.

    Parsed like a run's upload (``data.parse_upload``) and stored once per merchant, so every
    later run trains on it alongside the approved copy. ``replace=False`` adds to what is
    there. Returns (records kept, line errors); an unreadable file is a ValidationError.
    """
    try:
        records, errors = D.parse_upload(content, filename)
    except D.UploadError as exc:
        raise ValidationError(str(exc)) from exc
    if not replace:
        records = selectors.past_copy_records(merchant) + records
    path = selectors.past_copy_path(merchant)
    for stale in (path, selectors.past_copy_report_path(merchant)):
        if default_storage.exists(stale):
            default_storage.delete(stale)
    default_storage.save(path, ContentFile(D.records_to_jsonl(records).encode()))
    return len(records), errors


def past_copy_replace(
    *, merchant: Merchant, content: bytes, filename: str, partial: bool = False, user=None
) -> dict:
    """Check an uploaded JSONL or CSV of past copy and make it the merchant's standing past copy.

    Every line is checked first (``past_copy.check``); a file with a bad line is refused whole
    (ValidationError naming the line and field, nothing changes) unless ``partial``, which keeps
    the valid lines. Examples left out for a reason (unknown kind or SKU, failing a hard guard,
    duplicates, too long) are counted in the returned report, which the page shows.
    """
    from contentgen.finetuning import past_copy as P
    from contentgen.selectors import brand_voice_for
    from merchandising.catalog.models import Product

    catalog = {p.sku: p.facts() for p in Product.objects.filter(merchant=merchant)}
    try:
        checked = P.check(
            content,
            filename,
            catalog=catalog,
            voice=brand_voice_for(merchant).as_prompt_voice(),
        )
    except P.PastCopyRefused as exc:
        raise ValidationError({exc.field_name: str(exc)}) from exc
    bad = checked.bad_lines
    if bad and not partial:
        shown = "; ".join(str(p) for p in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise ValidationError(
            {
                "file": f"{len(bad)} of {checked.lines} lines are bad, so nothing was kept: "
                f"{shown}{more}. Fix them and upload again, or keep only the valid lines."
            }
        )
    if not checked.records:
        raise ValidationError(
            {"file": f"None of the {checked.lines} lines can be used as training data."}
        )
    report = {
        **checked.report(),
        "filename": filename,
        "partial": partial,
        "uploaded_at": timezone.now().isoformat(),
        "uploaded_by": user.get_username() if getattr(user, "pk", None) else "",
    }
    _past_copy_write(merchant, checked.records, report)
    return report


def _past_copy_write(merchant: Merchant, records: list[D.CopyRecord], report: dict) -> None:
    import json

    path = selectors.past_copy_path(merchant)
    report_path = selectors.past_copy_report_path(merchant)
    for p in (path, report_path):
        if default_storage.exists(p):
            default_storage.delete(p)
    default_storage.save(path, ContentFile(D.records_to_jsonl(records).encode()))
    default_storage.save(report_path, ContentFile(json.dumps(report).encode()))


def past_copy_remove(*, merchant: Merchant) -> bool:
    """Forget the merchant's standing past copy; later runs train on approved copy only."""
    found = False
    for p in (selectors.past_copy_path(merchant), selectors.past_copy_report_path(merchant)):
        if default_storage.exists(p):
            default_storage.delete(p)
            found = True
    return found


# --------------------------------------------------------------------------- run (worker)


def _load_or_snapshot_records(
    adapter: AdapterVersion, params: dict, folder: Path
) -> list[D.CopyRecord]:
    """The run's data, frozen on first start so a resumed run trains on the same examples."""
    path = folder / RECORDS_FILE
    if path.exists():
        records, _ = D.parse_upload(path.read_bytes(), RECORDS_FILE)
        return records
    records = selectors.training_records(adapter.merchant)
    if params.get("upload"):
        with default_storage.open(params["upload"], "rb") as fh:
            uploaded, _ = D.parse_upload(fh.read(), "upload.jsonl")
        for r in uploaded:
            r.source = "upload"
        records += uploaded
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(D.records_to_jsonl(records))
    tmp.replace(path)
    return records


def _finish(adapter: AdapterVersion, status: str, **fields) -> None:
    AdapterVersion.objects.filter(pk=adapter.pk).update(
        status=status, finished_at=timezone.now(), **fields
    )


def _house_start(model: str | None, stage) -> str | None:
    """The house adapter's folder when a merchant's fine-tuning should start from it (the
    default base model; ``CONTENTGEN_HOUSE_ADAPTER`` not 0); None trains from the base model.
    A broken house adapter is skipped with a note, never fails the merchant's run."""
    house = house_adapter_dir(model or getattr(settings, "CONTENTGEN_BASE_MODEL", "") or None)
    if house is None:
        return None
    try:
        check_adapter_files(house, DEFAULT_MODEL_LABEL)
    except AdapterFileError as exc:
        log.warning("fine-tuning starts from the base model: %s", exc)
        stage(f"Starting from the base model: {exc}")
        return None
    stage("Starting from the house adapter")
    return str(house)


def finetune_run(*, job: Job, report: Report) -> dict:
    """The work of a fine-tuning job: data, LoRA training with checkpoints, evaluation, upload.

    Redelivered after a worker died, it resumes from the run's last checkpoint on this machine.
    """
    adapter = AdapterVersion.objects.get(pk=job.params["adapter_id"], merchant=job.merchant)
    if adapter.status != AdapterVersion.Status.TRAINING:
        return {"summary": f"Adapter v{adapter.version} is already {adapter.status}."}
    folder = work_dir(adapter)
    lora = T.LoraSettings.from_dict(
        {k: v for k, v in adapter.training_settings.items() if k not in RUN_KEYS}
    )
    state = {"pct": 1}

    def stage(message: str) -> None:
        report(state["pct"], message)

    def progress(step: int, total: int, loss: float, seconds_left: float) -> None:
        state["pct"] = 10 + int(80 * step / max(total, 1))
        AdapterVersion.objects.filter(pk=adapter.pk).update(
            progress={
                "step": step,
                "total": total,
                "loss": round(loss, 4),
                "seconds_left": round(seconds_left),
            }
        )
        minutes = seconds_left / 60
        left = f"{minutes:.0f} min" if minutes >= 1.5 else f"{seconds_left:.0f} s"
        report(state["pct"], f"Step {step} of {total}, loss {loss:.3f}, about {left} left")

    from contentgen.finetuning import pipeline
    from contentgen.selectors import brand_voice_for

    try:
        stage("Collecting the approved copy")
        records = _load_or_snapshot_records(adapter, job.params, folder)
        voice = brand_voice_for(adapter.merchant).as_prompt_voice()
        state["pct"] = 3
        model = adapter.training_settings.get("model") or None
        start_from = _house_start(model, stage)
        outcome = pipeline.finetune_records(
            records,
            out_dir=folder / "adapter",
            model=model,
            settings=lora,
            voice=voice,
            init_adapter=start_from,
            eval_fraction=float(adapter.training_settings.get("eval_fraction", 0.2)),
            eval_samples=int(adapter.training_settings.get("eval_samples", 12)),
            progress=progress,
            on_stage=stage,
        )
    except JobCancelled:
        _finish(adapter, AdapterVersion.Status.CANCELLED, error="Cancelled by the user.")
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except T.FinetuneError as exc:
        _finish(adapter, AdapterVersion.Status.FAILED, error=str(exc))
        shutil.rmtree(folder, ignore_errors=True)
        raise JobError(str(exc)) from exc
    except Exception as exc:
        # Unexpected: keep the checkpoints, so a retry after a fix resumes.
        _finish(adapter, AdapterVersion.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise

    report(95, "Saving the adapter")
    adapter_dir = folder / "adapter"
    prefix = _storage_prefix(adapter)
    files = sorted(p.name for p in adapter_dir.iterdir() if p.is_file())
    for name in files:
        key = f"{prefix}/{name}"
        if default_storage.exists(key):
            default_storage.delete(key)
        with open(adapter_dir / name, "rb") as fh:
            default_storage.save(key, ContentFile(fh.read()))
    result = outcome.result
    metrics = {
        "base": result.base,
        "adapter": result.adapter,
        "train_loss": result.train_loss,
        "first_loss": result.first_loss,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "device": result.device,
        "resumed_from_step": result.resumed_from_step,
        "samples": result.samples,
    }
    prepared = outcome.prepared.report()
    prepared.update({"train": result.n_train, "eval": result.n_eval})
    meta = T.read_adapter_meta(adapter_dir)
    _finish(
        adapter,
        AdapterVersion.Status.READY,
        metrics=metrics,
        data=prepared,
        data_size=result.n_train + result.n_eval,
        artifact_prefix=prefix,
        artifact_files=files,
        prompt_version=str(meta.get("prompt_version", "")),
        base_model=outcome.base_label,
        error="",
    )
    shutil.rmtree(folder, ignore_errors=True)
    adapter.refresh_from_db()
    activated = False
    mismatch = selectors.base_model_mismatch(adapter)
    if adapter.auto_activate and T.is_better(result.base, result.adapter) and not mismatch:
        adapter_activate(
            merchant=adapter.merchant, adapter_id=adapter.pk, user=None, automatic=True
        )
        activated = True
    verdict = "better" if T.is_better(result.base, result.adapter) else "not better"
    return {
        "adapter_id": adapter.pk,
        "version": adapter.version,
        "activated": activated,
        **{k: metrics[k] for k in ("base", "adapter", "train_loss", "steps")},
        "summary": (
            f"Adapter v{adapter.version} trained in {result.steps} steps: held-out loss "
            f"{result.base['eval_loss']} (base) vs {result.adapter['eval_loss']} (adapter), "
            f"{verdict} than the base model"
            + ("; activated automatically." if activated else ".")
            + (
                f" Not activated automatically: {mismatch}"
                if adapter.auto_activate and mismatch
                else ""
            )
        ),
    }


# --------------------------------------------------------------------------- activation


def adapter_activate(
    *, merchant: Merchant, adapter_id: int, user=None, automatic: bool = False, note: str = ""
) -> AdapterVersion:
    """Make one ready adapter the one generation uses for this merchant.

    Refuses (ValidationError) an adapter that is not ready, and one trained on another base
    model than the one the generation workers load.
    """
    with transaction.atomic():
        adapters = AdapterVersion.objects.select_for_update().filter(merchant=merchant)
        adapter = adapters.filter(pk=adapter_id).first()
        if adapter is None:
            raise AdapterVersion.DoesNotExist(f"No adapter {adapter_id} for this shop.")
        if adapter.status != AdapterVersion.Status.READY:
            raise ValidationError(
                f"Adapter v{adapter.version} is {adapter.get_status_display().lower()}; only a "
                "ready adapter can be activated."
            )
        mismatch = selectors.base_model_mismatch(adapter)
        if mismatch:
            raise ValidationError(mismatch)
        adapters.filter(is_active=True).exclude(pk=adapter.pk).update(is_active=False)
        adapter.is_active = True
        adapter.activated_by = user if getattr(user, "pk", None) else None
        adapter.activated_at = timezone.now()
        adapter.save(update_fields=["is_active", "activated_by", "activated_at"])
        AdapterActivation.objects.create(
            merchant=merchant,
            adapter=adapter,
            automatic=automatic,
            user=adapter.activated_by,
            note=note or ("activated automatically: better on held-out data" if automatic else ""),
        )
    return adapter


def adapter_rollback(
    *, merchant: Merchant, user=None, to_adapter_id: int | None = None
) -> AdapterVersion | None:
    """Go back to an earlier adapter, or to the base model when ``to_adapter_id`` is None."""
    if to_adapter_id is not None:
        return adapter_activate(
            merchant=merchant, adapter_id=to_adapter_id, user=user, note="rollback"
        )
    with transaction.atomic():
        AdapterVersion.objects.select_for_update().filter(merchant=merchant, is_active=True).update(
            is_active=False
        )
        AdapterActivation.objects.create(
            merchant=merchant,
            adapter=None,
            user=user if getattr(user, "pk", None) else None,
            note="rollback to the base model",
        )
    return None
