"""python manage.py import_events FILE --merchant SLUG

CSV columns: event_id, type, visitor_id and optionally sku, ts, value, placement, request_id,
device, country (the API's fields). Rows are validated one by one and stored in batches of 500;
re-importing the same file stores nothing twice (event ids).
"""

from __future__ import annotations

import csv
import gzip

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from merchandising.accounts.models import Merchant
from merchandising.tracking.services import events_import_rows


class Command(BaseCommand):
    help = "Import storefront events from a CSV file (event_id,type,visitor_id,sku,ts,...)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--show-errors", type=int, default=10)

    def handle(self, *args, file, merchant, show_errors, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant with slug {merchant!r}.")
        opener = gzip.open if file.endswith(".gz") else open
        try:
            fh = opener(file, "rt", newline="", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        with fh, tqdm(desc="events", unit="ev", disable=options.get("verbosity", 1) == 0) as bar:
            reader = csv.DictReader(fh)
            missing = {"event_id", "type", "visitor_id"} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"The CSV lacks columns: {', '.join(sorted(missing))}.")
            result = events_import_rows(merchant=shop, rows=reader, progress=bar.update)
        summary = result.as_dict()
        self.stdout.write(
            f"accepted {result.accepted}, duplicates {result.duplicates}, "
            f"errors {len(result.errors)}, unknown SKUs {summary['unknown_skus']['count']}"
        )
        for error in result.errors[:show_errors]:
            # index is 0-based over data rows; +2 gives the line number in the file.
            self.stdout.write(f"  line {error['index'] + 2}: {error['field']}: {error['message']}")
