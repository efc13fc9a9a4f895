"""python manage.py import_catalog FILE --merchant SLUG [--partial] [--encoding cp1252]
[--format auto|merchlab|shopify|woocommerce]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from merchandising.accounts.models import Merchant
from merchandising.catalog.services import ImportFailed, product_import_csv
from merchandising.catalog.services_platforms import import_format_detect, product_import_platform


class Command(BaseCommand):
    help = "Import or update products from a CSV file (upsert by SKU). Nothing is written if any row is bad, unless --partial."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument(
            "--partial", action="store_true", help="import the valid rows even if some rows are bad"
        )
        parser.add_argument("--encoding", default="utf-8")
        parser.add_argument(
            "--format",
            default="auto",
            choices=["auto", "merchlab", "shopify", "woocommerce"],
            help="the file's layout (default: detected from the header)",
        )

    def handle(
        self, *args, file: Path, merchant: str, partial: bool, encoding: str, format: str, **options
    ):
        try:
            owner = Merchant.objects.get(slug=merchant)
        except Merchant.DoesNotExist:
            raise CommandError(f"No merchant with slug {merchant!r}.") from None
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        bar = tqdm(
            total=100, desc=f"Importing {file.name}", unit="%", disable=options["verbosity"] == 0
        )

        def report(progress: int, message: str = "") -> None:
            bar.update(max(0, progress - bar.n))
            bar.set_postfix_str(message[:60])

        if format == "auto":
            with file.open("rb") as fh:
                format = import_format_detect(fh.read(65_536))
        try:
            if format == "merchlab":
                result = product_import_csv(
                    merchant=owner,
                    data=file.read_bytes(),
                    encoding=encoding,
                    partial=partial,
                    report=report,
                )
            else:
                with file.open("rb") as fh:
                    result = product_import_platform(
                        merchant=owner,
                        fh=fh,
                        format=format,
                        size=file.stat().st_size,
                        partial=partial,
                        report=report,
                    )
        except ImportFailed as exc:
            bar.close()
            for error in exc.result.get("errors", [])[:50]:
                self.stderr.write(
                    f"line {error['line']}, column {error['column']}: {error['message']}"
                )
            more = exc.result.get("error_count", 0) - 50
            if more > 0:
                self.stderr.write(f"... and {more} more problems")
            raise CommandError(str(exc)) from None
        bar.update(100 - bar.n)
        bar.close()
        for error in result.get("errors", [])[:50]:
            self.stderr.write(
                f"skipped line {error['line']}, column {error['column']}: {error['message']}"
            )
        self.stdout.write(self.style.SUCCESS(result["summary"]))
