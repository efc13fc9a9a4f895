"""python manage.py export_catalog --merchant SLUG [--out FILE]"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from merchandising.accounts.models import Merchant
from merchandising.catalog.services import product_export_csv


class Command(BaseCommand):
    help = "Write the merchant's catalog with its live copy as CSV (re-importable)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True)
        parser.add_argument("--out", type=Path)

    def handle(self, *args, merchant: str, out: Path | None, **options):
        owner = Merchant.objects.filter(slug=merchant).first()
        if owner is None:
            raise CommandError(f"No merchant with slug {merchant!r}.")
        if out:
            with out.open("w", encoding="utf-8", newline="") as fh:
                count = product_export_csv(merchant=owner, out=fh)
            self.stderr.write(f"Wrote {count} products to {out}")
        else:
            product_export_csv(merchant=owner, out=sys.stdout)
