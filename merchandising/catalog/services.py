"""Every write to the catalog: products, live copy, imports."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from merchandising.inputs import printable
from merchandising.jobs.models import Job
from merchandising.jobs.runner import JobError
from merchandising.jobs.services import job_submit

from . import csv_format
from .models import (
    COPY_FIELDS,
    LIST_COPY_FIELDS,
    CopyRevision,
    CopySource,
    LiveCopy,
    Product,
    SegmentCopy,
)

UPSERT_BATCH = 1000
# Rows an import writes per transaction: small enough that a write waits on an import for a
# fraction of a second at most, large enough that the per-batch queries stay a small cost.
IMPORT_BATCH = 500
PRODUCT_FIELDS = (
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "attributes",
    "tags",
    "image_url",
    "stock",
    "status",
)
MAX_IMPORT_ERRORS_KEPT = 500

Report = Callable[[int, str], None]


def _noop_report(progress: int, message: str = "") -> None:
    return None


def catalog_changed(merchant) -> None:
    """Invalidate what is cached about the merchant's catalog (counts, filter values), now and
    again once the surrounding transaction commits."""

    def bump() -> None:
        key = f"catalog:version:{merchant.pk}"
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 2, None)

    bump()
    transaction.on_commit(bump)


# --- live copy ---------------------------------------------------------------------------------


def copy_value_clean(field: str, value) -> str | list[str]:
    if field not in COPY_FIELDS:
        raise ValidationError(
            {"field": f"Unknown copy field {field!r}; one of {', '.join(COPY_FIELDS)}."}
        )
    if field in LIST_COPY_FIELDS:
        if isinstance(value, str):
            value = [v.strip() for v in value.split("|")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError({field: "Must be a list of texts."})
        value = [v.strip() for v in value if v.strip()]
    else:
        if not isinstance(value, str):
            raise ValidationError({field: "Must be a text."})
        value = value.strip()
    return value


def live_copy_publish(
    *,
    product: Product,
    field: str,
    value,
    source: str,
    user=None,
    note: str = "",
    segment: str = "",
) -> CopyRevision:
    """Make `value` the live copy of one field of one product and record it in the history.

    This is the one path by which copy reaches shoppers: review approvals, edits, reverts and
    shipping an experiment's winner all call it. With `segment` (a segment key, see
    CopyDraft.segment) the value becomes that segment's copy (SegmentCopy) and the general
    live copy that every other shopper sees is left as it is."""
    with transaction.atomic():
        # Lock the product so two publishes of the same field are serialised.
        locked = Product.objects.select_for_update().filter(pk=product.pk).first()
        if locked is None:
            raise ValidationError("The product no longer exists.")
        if locked.status == Product.Status.ARCHIVED:
            raise ValidationError(
                f"Product {locked.sku} is archived; restore it before publishing copy."
            )
        revisions = live_copy_publish_many(
            merchant=product.merchant,
            items=[(product, field, value)],
            source=source,
            user=user,
            note=note,
            segment=segment,
        )
    return revisions[0]


def live_copy_publish_many(
    *,
    merchant,
    items: Iterable[tuple[Product, str, object]],
    source: str,
    user=None,
    note: str = "",
    segment: str = "",
) -> list[CopyRevision]:
    """Publish many (product, field, value) at once; values equal to the live ones are skipped.
    Runs inside the caller's transaction. With `segment`, writes that segment's copy."""
    if source not in CopySource.values:
        raise ValidationError({"source": f"Unknown copy source {source!r}."})
    segment = (segment or "").strip()
    if len(segment) > 100:
        raise ValidationError({"segment": "A segment key has at most 100 characters."})
    cleaned = [(p, f, copy_value_clean(f, v)) for p, f, v in items]
    if not cleaned:
        return []
    model = SegmentCopy if segment else LiveCopy
    scope = {"segment": segment} if segment else {}
    current = {
        (c.product_id, c.field): c
        for c in model.objects.filter(
            product_id__in={p.pk for p, _, _ in cleaned},
            field__in={f for _, f, _ in cleaned},
            **scope,
        )
    }
    revisions: list[CopyRevision] = []
    for product, field, value in cleaned:
        live = current.get((product.pk, field))
        if live is not None and live.value == value:
            continue
        revisions.append(
            CopyRevision(
                merchant=merchant,
                product=product,
                field=field,
                segment=segment,
                value=value,
                previous_value=live.value if live else None,
                source=source,
                note=note[:500],
                created_by=user if getattr(user, "pk", None) else None,
            )
        )
    if not revisions:
        return []
    CopyRevision.objects.bulk_create(revisions, batch_size=UPSERT_BATCH)
    model.objects.bulk_create(
        [
            model(
                merchant=merchant,
                product=r.product,
                field=r.field,
                value=r.value,
                source=source,
                revision=r,
                **scope,
            )
            for r in revisions
        ],
        update_conflicts=True,
        unique_fields=["product", "field", *scope],
        update_fields=["value", "source", "revision", "updated_at"],
        batch_size=UPSERT_BATCH,
    )
    return revisions


def live_copy_revert(*, product: Product, revision_id: int, user=None) -> CopyRevision:
    """Publish an earlier value of a field again (recorded as a new revision); a segment's
    revision goes back to that segment's copy."""
    old = CopyRevision.objects.get(product=product, pk=revision_id)
    return live_copy_publish(
        product=product,
        field=old.field,
        value=old.value,
        source=old.source,
        user=user,
        note=f"Reverted to the version of {old.created_at:%Y-%m-%d %H:%M}",
        segment=old.segment,
    )


@transaction.atomic
def segment_copy_withdraw(*, product: Product, field: str, segment: str, user=None) -> int:
    """Stop serving a segment's copy of one field (its members see the general copy again);
    recorded in the history as a revision with an empty value. Returns rows removed."""
    live = SegmentCopy.objects.filter(product=product, field=field, segment=segment).first()
    if live is None:
        return 0
    CopyRevision.objects.create(
        merchant=product.merchant,
        product=product,
        field=field,
        segment=segment,
        value=[] if field in LIST_COPY_FIELDS else "",
        previous_value=live.value,
        source=live.source,
        note="Segment copy withdrawn",
        created_by=user if getattr(user, "pk", None) else None,
    )
    live.delete()
    return 1


# --- products ----------------------------------------------------------------------------------


def _product_from_row(merchant, row: csv_format.CleanRow, existing: Product | None) -> Product:
    product = existing or Product(
        merchant=merchant, sku=row.sku, currency=merchant.default_currency
    )
    product.title = row.title
    product.price = row.price
    product.brand = row.brand
    product.category = row.category
    if row.currency is not None:
        product.currency = row.currency
    if row.stock is not None:
        product.stock = row.stock
    if row.status is not None:
        product.status = row.status
    if row.tags is not None:
        product.tags = row.tags
    if row.image_url is not None:
        product.image_url = row.image_url
    if row.attributes or existing is None:
        product.attributes = row.attributes
    return product


def _snapshot(product: Product) -> tuple:
    return tuple(
        str(getattr(product, f)) if f == "price" else getattr(product, f) for f in PRODUCT_FIELDS
    )


def products_upsert(
    *,
    merchant,
    rows: list[csv_format.CleanRow],
    user=None,
    report: Report = _noop_report,
    progress_span: tuple[int, int] = (0, 100),
) -> dict:
    """Create or update products by SKU, and publish their copy columns as original copy.
    Unchanged products are not touched (so drafts made from them do not become stale).
    Runs in the caller's transaction; returns counts."""
    created = updated = unchanged = copy_changes = 0
    start, end = progress_span
    for offset in range(0, len(rows), UPSERT_BATCH):
        batch = rows[offset : offset + UPSERT_BATCH]
        existing = {
            p.sku: p
            for p in Product.objects.filter(merchant=merchant, sku__in=[r.sku for r in batch])
        }
        to_create: list[Product] = []
        to_update: list[Product] = []
        for row in batch:
            current = existing.get(row.sku)
            before = _snapshot(current) if current else None
            product = _product_from_row(merchant, row, current)
            if current is None:
                to_create.append(product)
            elif _snapshot(product) != before:
                to_update.append(product)
            else:
                unchanged += 1
        if to_create:
            Product.objects.bulk_create(to_create, batch_size=UPSERT_BATCH)
        if to_update:
            now = timezone.now()
            for p in to_update:
                p.updated_at = now
            Product.objects.bulk_update(
                to_update, fields=[*PRODUCT_FIELDS, "updated_at"], batch_size=UPSERT_BATCH
            )
        created += len(to_create)
        updated += len(to_update)
        ids = dict(
            Product.objects.filter(merchant=merchant, sku__in=[r.sku for r in batch]).values_list(
                "sku", "pk"
            )
        )
        copy_items = []
        for row in batch:
            for field, value in row.copy.items():
                copy_items.append(
                    (Product(pk=ids[row.sku], merchant=merchant, sku=row.sku), field, value)
                )
        copy_changes += len(
            live_copy_publish_many(
                merchant=merchant, items=copy_items, source=CopySource.ORIGINAL, user=user
            )
        )
        if to_create or to_update:
            catalog_changed(merchant)
        done = offset + len(batch)
        report(
            start + (end - start) * done // max(1, len(rows)),
            f"Saved {done:,} of {len(rows):,} products",
        )
    return {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "copy_changes": copy_changes,
    }


def product_import_csv(
    *,
    merchant,
    data: bytes,
    encoding: str = "utf-8",
    partial: bool = False,
    user=None,
    report: Report = _noop_report,
) -> dict:
    """Validate every row, then upsert by SKU in batches of ``IMPORT_BATCH`` rows, one short
    transaction each.

    The whole file is checked before the first write: by default nothing is written when any row
    is bad; with `partial=True` the valid rows are imported and the bad ones reported. Raises
    JobError (with the full result) when nothing was written because of bad rows.

    Each batch commits on its own, so the import never holds the database's write lock for the
    whole file (other requests and jobs write between batches). A product is never half-written:
    its fields and its copy columns are in the same batch. If the job stops part-way (a crash, a
    lost worker), the batches before it are saved; running the same file again finishes it, and
    is idempotent: products are matched by SKU and unchanged ones (and unchanged copy) are left
    as they are."""
    report(1, "Reading the file")
    try:
        text = csv_format.decode(data, encoding)
        validation = csv_format.validate(text, default_currency=merchant.default_currency)
    except csv_format.FileError as exc:
        raise ImportFailed(
            str(exc), {"errors": [exc.as_row_error().as_dict()], "error_count": 1, "written": False}
        ) from exc
    report(30, f"Checked {validation.total_rows:,} rows, {len(validation.errors):,} problems")
    errors = [e.as_dict() for e in validation.errors[:MAX_IMPORT_ERRORS_KEPT]]
    bad_lines = len({e.line for e in validation.errors})
    summary = {
        "rows": validation.total_rows,
        "error_count": len(validation.errors),
        "bad_rows": bad_lines,
        "errors": errors,
        "partial": partial,
    }
    if validation.errors and not partial:
        raise ImportFailed(
            f"{bad_lines:,} of {validation.total_rows:,} rows have problems, so nothing was imported. "
            "Fix them and import again, or import only the valid rows.",
            {**summary, "written": False, "created": 0, "updated": 0},
        )
    counts = {"created": 0, "updated": 0, "unchanged": 0, "copy_changes": 0}
    rows = validation.rows
    for offset in range(0, len(rows), IMPORT_BATCH):
        batch = rows[offset : offset + IMPORT_BATCH]
        with transaction.atomic():
            part = products_upsert(merchant=merchant, rows=batch, user=user)
        for key, value in part.items():
            counts[key] += value
        done = offset + len(batch)
        report(30 + 69 * done // max(1, len(rows)), f"Saved {done:,} of {len(rows):,} products")
    skipped = f", skipped {bad_lines:,} bad rows" if bad_lines else ""
    return {
        **summary,
        **counts,
        "written": True,
        "summary": f"Imported {len(validation.rows):,} rows: {counts['created']:,} new, "
        f"{counts['updated']:,} updated, {counts['unchanged']:,} unchanged{skipped}.",
    }


class ImportFailed(JobError):
    def __init__(self, message: str, result: dict) -> None:
        super().__init__(message)
        self.result = result


def product_import_submit(
    *,
    merchant,
    data: bytes,
    filename: str,
    encoding: str = "utf-8",
    partial: bool = False,
    user=None,
    format: str = "merchlab",
) -> Job:
    """Store the upload and queue an import job (the web process never parses big files).
    An encoding that is not one of csv_format.ENCODING_NAMES (or a spelling of one) is refused
    here, before anything is stored. `format` is merchlab, shopify or woocommerce (see
    catalog.platforms.detect_format)."""
    from .tasks import import_catalog

    name = csv_format.encoding_name(encoding)
    if name is None:
        raise ValidationError(
            {
                "encoding": f"{printable(str(encoding))!r} is not an accepted text "
                f"encoding; use one of {', '.join(csv_format.ENCODING_NAMES)}."
            }
        )
    encoding = name

    path = default_storage.save(
        f"imports/{merchant.slug}/{uuid.uuid4().hex}.csv", ContentFile(data)
    )
    with transaction.atomic():
        return job_submit(
            merchant=merchant,
            kind="catalog_import",
            task=import_catalog,
            params={
                "path": path,
                "filename": filename[:200],
                "encoding": encoding,
                "partial": partial,
                "bytes": len(data),
                "format": format,
            },
            user=user,
        )


def product_import_valid_rows(*, job: Job, user=None) -> Job:
    """After an all-or-nothing import failed on bad rows, import the same stored file again
    keeping the valid rows (a new job; the failed one stays as the record of the problems)."""
    result = job.result or {}
    if (
        job.kind != "catalog_import"
        or job.status != Job.Status.FAILED
        or result.get("written") is not False
        or not result.get("rows")
        or result.get("bad_rows", 0) >= result["rows"]
    ):
        raise ValidationError("This import has no valid rows left to import.")
    with default_storage.open(job.params["path"], "rb") as fh:
        data = fh.read()
    return product_import_submit(
        merchant=job.merchant,
        data=data,
        filename=job.params.get("filename", "import.csv"),
        encoding=job.params.get("encoding", "utf-8"),
        partial=True,
        user=user,
    )


def product_import_run(*, job: Job, report: Report) -> dict:
    with default_storage.open(job.params["path"], "rb") as fh:
        data = fh.read()
    return product_import_csv(
        merchant=job.merchant,
        data=data,
        encoding=job.params.get("encoding", "utf-8"),
        partial=bool(job.params.get("partial")),
        user=job.created_by,
        report=report,
    )


def _row_from_data(data: dict, *, line: int = 0) -> csv_format.CleanRow:
    return csv_format.CleanRow(
        line=line,
        sku=data["sku"],
        title=data["title"],
        price=Decimal(data["price"]),
        brand=data.get("brand", ""),
        category=data.get("category", ""),
        currency=data.get("currency"),
        stock=data.get("stock"),
        status=data.get("status"),
        tags=data.get("tags"),
        image_url=data.get("image_url"),
        attributes=data.get("attributes") or {},
        copy={k: v for k, v in (data.get("copy") or {}).items() if v not in ("", [], None)},
    )


@transaction.atomic
def product_create(*, merchant, data: dict, user=None) -> Product:
    if Product.objects.filter(merchant=merchant, sku=data["sku"]).exists():
        raise ValidationError({"sku": f"A product with SKU {data['sku']!r} already exists."})
    products_upsert(merchant=merchant, rows=[_row_from_data(data)], user=user)
    product = Product.objects.get(merchant=merchant, sku=data["sku"])
    product.full_clean()
    return product


@transaction.atomic
def product_update(*, product: Product, data: dict, user=None, by_hand: bool = False) -> Product:
    """Change some fields of a product (those present in `data`); copy fields go through
    live_copy_publish as original (merchant-typed) copy. With `by_hand` (a person typing in the
    dashboard) a change to a field that already has live copy is recorded as edited."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    for field in PRODUCT_FIELDS:
        if field in data:
            setattr(product, field, data[field])
    product.full_clean()
    product.save()
    catalog_changed(product.merchant)
    live = {c.field: c.value for c in LiveCopy.objects.filter(product=product)}
    for field, value in (data.get("copy") or {}).items():
        if value in ("", [], None):
            continue
        if live.get(field) == copy_value_clean(field, value):
            continue  # a form sends every copy field back: an unchanged one is not a new version
        source = CopySource.EDITED if by_hand and field in live else CopySource.ORIGINAL
        live_copy_publish(product=product, field=field, value=value, source=source, user=user)
    return product


@transaction.atomic
def product_archive(*, product: Product) -> Product:
    if product.status != Product.Status.ARCHIVED:
        product.status = Product.Status.ARCHIVED
        product.save(update_fields=["status", "updated_at"])
        catalog_changed(product.merchant)
    return product


@transaction.atomic
def product_bulk_upsert(*, merchant, items: list[dict], user=None) -> dict:
    """All-or-nothing upsert of already validated items (the API validates each one first)."""
    rows = [_row_from_data(item, line=i) for i, item in enumerate(items)]
    return products_upsert(merchant=merchant, rows=rows, user=user)


def product_export_csv(*, merchant, out: io.TextIOBase, queryset=None) -> int:
    """Write the merchant's products with their live copy as importable CSV; returns the count."""
    from .selectors import products_for_export

    products, attribute_names = products_for_export(merchant, queryset=queryset)
    csv_format.write(products, attribute_names, out)
    return len(products)
