"""python manage.py export_catalog --merchant SLUG [--out FILE] [--format merchlab|shopify|woocommerce]"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from merchandising.accounts.models import Merchant
from merchandising.catalog.services import product_export_csv
from merchandising.catalog.services_platforms import product_export_platform


class Command(BaseCommand):
    help = "Write the merchant's catalog with its live copy as CSV (re-importable)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True)
        parser.add_argument("--out", type=Path)
        parser.add_argument(
            "--format",
            default="merchlab",
            choices=["merchlab", "shopify", "woocommerce"],
            help="shopify/woocommerce: the live copy of the products imported from that platform",
        )

    def handle(self, *args, merchant: str, out: Path | None, format: str, **options):
        owner = Merchant.objects.filter(slug=merchant).first()
        if owner is None:
            raise CommandError(f"No merchant with slug {merchant!r}.")

        def export(fh) -> int:
            if format == "merchlab":
                return product_export_csv(merchant=owner, out=fh)
            return product_export_platform(merchant=owner, format=format, out=fh)

        if out:
            with out.open("w", encoding="utf-8", newline="") as fh:
                count = export(fh)
            self.stderr.write(f"Wrote {count} products to {out}")
        else:
            export(sys.stdout)
