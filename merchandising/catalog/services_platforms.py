"""Writes for other platforms' files: Shopify and WooCommerce imports (products, their listing
on the platform, their copy). Kept apart from services.py so the platform formats can grow
without touching the Merchlab CSV import; they share its upsert and its error report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.db import transaction

from merchandising.jobs.models import Job

from .csv_format import FileError, RowError
from .models import CopySource, Product, ProductListing
from .platforms import PlatformReport, detect_format, shopify, woocommerce
from .selectors_platforms import listings_for_export
from .services import (
    MAX_IMPORT_ERRORS_KEPT,
    UPSERT_BATCH,
    ImportFailed,
    Report,
    _noop_report,
    live_copy_publish_many,
    products_upsert,
)

READERS = {"shopify": shopify.read, "woocommerce": woocommerce.read}
PLATFORM_FORMATS = tuple(READERS)
PROGRESS_EVERY_LINES = 5_000


def import_format_detect(data: bytes) -> str:
    """The format of an upload, from its header line: shopify, woocommerce or merchlab."""
    head = data[:65_536].decode("utf-8-sig", errors="replace")
    first = next(iter(io.StringIO(head, newline="")), "")

    header = next(csv.reader([first]), [])
    return detect_format(header)


def _lines(fh, size: int, report: Report) -> Iterator[str]:
    """The lines of a binary file as text, reporting how far the reading got (0-40%)."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    for number, line in enumerate(text, start=1):
        if number % PROGRESS_EVERY_LINES == 0 and size:
            done = min(1.0, fh.tell() / size)
            report(1 + int(39 * done), f"Read {number:,} lines")
        yield line


def product_import_platform(
    *,
    merchant,
    fh,
    format: str,
    size: int = 0,
    partial: bool = False,
    user=None,
    report: Report = _noop_report,
) -> dict:
    """Import a Shopify or WooCommerce product CSV read from the binary file `fh`.

    Every row is checked first (streamed: only one product per Handle/parent is kept in memory);
    with any problem nothing is written unless `partial`, which imports the products without
    problems. Products, their listing on the platform and their copy are written in one
    transaction. Raises ImportFailed with the per-line report."""
    report(1, "Reading the file")
    try:
        parsed = READERS[format](
            _lines(fh, size, report), default_currency=merchant.default_currency
        )
    except FileError as exc:
        raise ImportFailed(
            str(exc),
            {
                "format": format,
                "errors": [exc.as_row_error().as_dict()],
                "error_count": 1,
                "written": False,
            },
        ) from exc
    updates = _resolve_copy_updates(merchant, format, parsed)
    errors = parsed.errors
    bad_lines = len({e.line for e in errors})
    items = len(parsed.products) + len(updates)
    summary = {
        "format": format,
        "rows": parsed.total_rows,
        "products": len(parsed.products),
        "copy_updates": len(updates),
        "error_count": len(errors),
        "bad_rows": bad_lines,
        "errors": [e.as_dict() for e in errors[:MAX_IMPORT_ERRORS_KEPT]],
        "skipped": [e.as_dict() for e in parsed.skipped[:MAX_IMPORT_ERRORS_KEPT]],
        "partial": partial,
    }
    report(40, f"Checked {parsed.total_rows:,} rows, {len(errors):,} problems")
    if errors and not partial:
        raise ImportFailed(
            f"{bad_lines:,} of {parsed.total_rows:,} rows have problems, so nothing was imported. "
            "Fix them and import again, or import only the valid products.",
            {**summary, "written": False, "created": 0, "updated": 0},
        )
    with transaction.atomic():
        counts = products_upsert(
            merchant=merchant,
            rows=[p.row for p in parsed.products],
            user=user,
            report=report,
            progress_span=(40, 95),
        )
        listing_platform_save(merchant=merchant, platform=format, parsed=parsed)
        copy_changes = len(
            live_copy_publish_many(
                merchant=merchant,
                items=[(product, f, v) for product, copy in updates for f, v in copy.items()],
                source=CopySource.ORIGINAL,
                user=user,
            )
        )
    counts["copy_changes"] += copy_changes
    skipped = f", skipped {bad_lines:,} bad rows" if bad_lines else ""
    if parsed.skipped:
        skipped += f", left out {len(parsed.skipped):,} products not for sale"
    what = (
        f"{len(parsed.products):,} products ({counts['created']:,} new, {counts['updated']:,} "
        f"updated, {counts['unchanged']:,} unchanged)"
        if parsed.products
        else f"copy of {len(updates):,} products ({counts['copy_changes']:,} fields changed)"
    )
    return {
        **summary,
        **counts,
        "items": items,
        "written": True,
        "summary": f"Imported {what} from {format.title()}{skipped}.",
    }


def _resolve_copy_updates(merchant, platform: str, parsed: PlatformReport) -> list:
    """Copy-only rows name products by their platform key; a key never imported is an error."""
    if not parsed.copy_updates:
        return []
    keys = {u.key for u in parsed.copy_updates}
    products = {}
    for listing in ProductListing.objects.filter(
        merchant=merchant, platform=platform, key__in=keys
    ).select_related("product"):
        products[listing.key] = listing.product
    column = "Handle" if platform == "shopify" else "ID"
    resolved = []
    for update in parsed.copy_updates:
        product = products.get(update.key)
        if product is None:
            parsed.errors.append(
                RowError(
                    update.line,
                    column,
                    f"{update.key!r} is not a product imported from {platform.title()} "
                    "(import the full product export first)",
                )
            )
        elif update.copy:
            resolved.append((product, update.copy))
    parsed.errors.sort(key=lambda e: e.line)
    return resolved


def listing_platform_save(*, merchant, platform: str, parsed: PlatformReport) -> int:
    """Keep each imported product's key and variants on the platform (upsert by key)."""
    if not parsed.products:
        return 0
    count = 0
    for offset in range(0, len(parsed.products), UPSERT_BATCH):
        batch = parsed.products[offset : offset + UPSERT_BATCH]
        ids = dict(
            Product.objects.filter(
                merchant=merchant, sku__in=[p.row.sku for p in batch]
            ).values_list("sku", "pk")
        )
        # A product moves to a new key (a renamed Handle): its old listing goes.
        ProductListing.objects.filter(
            merchant=merchant, platform=platform, product_id__in=ids.values()
        ).exclude(key__in=[p.key for p in batch]).delete()
        ProductListing.objects.bulk_create(
            [
                ProductListing(
                    merchant=merchant,
                    product_id=ids[p.row.sku],
                    platform=platform,
                    key=p.key,
                    variants=p.variants,
                    extra=p.extra,
                )
                for p in batch
            ],
            update_conflicts=True,
            unique_fields=["merchant", "platform", "key"],
            update_fields=["product", "variants", "extra", "updated_at"],
        )
        count += len(batch)
    return count


def product_import_platform_run(*, job: Job, report: Report) -> dict:
    path = job.params["path"]
    with default_storage.open(path, "rb") as fh:
        return product_import_platform(
            merchant=job.merchant,
            fh=fh,
            format=job.params["format"],
            size=int(job.params.get("bytes") or 0),
            partial=bool(job.params.get("partial")),
            user=job.created_by,
            report=report,
        )


def product_export_platform(*, merchant, format: str, out, queryset=None) -> int:
    """Write the live copy of the products imported from Shopify or WooCommerce as that
    platform's CSV, which updates only the copy columns there; returns the count. Products that
    were not imported from the platform are not in it (it would create them half-described)."""
    writer = {"shopify": shopify.write, "woocommerce": woocommerce.write}[format]
    return writer(listings_for_export(merchant, format, queryset=queryset), out)
