"""python manage.py export_channels --merchant SLUG (--feed FILE | --google-ads FILE)
[--group-by category|product]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from merchandising.accounts.models import Merchant
from merchandising.catalog.platforms import google_ads as ads_csv
from merchandising.catalog.platforms import google_merchant
from merchandising.catalog.selectors_platforms import products_for_channels


class Command(BaseCommand):
    help = (
        "Write the Google Merchant Center feed (RSS 2.0) or the Google Ads Editor CSV of approved "
        "ad copy, and list the products left out with the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--feed", type=Path, help="write the Merchant Center feed here")
        parser.add_argument("--google-ads", type=Path, help="write the Ads Editor CSV here")
        parser.add_argument("--group-by", default="category", choices=["category", "product"])

    def handle(
        self,
        *args,
        merchant: str,
        feed: Path | None,
        google_ads: Path | None,
        group_by: str,
        **options,
    ):
        owner = Merchant.objects.filter(slug=merchant).first()
        if owner is None:
            raise CommandError(f"No merchant with slug {merchant!r}.")
        if not feed and not google_ads:
            raise CommandError("Give --feed FILE or --google-ads FILE.")
        if feed:
            summary = google_merchant.FeedSummary()
            origins = owner.storefront_origins or []
            with feed.open("w", encoding="utf-8") as fh:
                for chunk in google_merchant.write(
                    products_for_channels(owner),
                    summary,
                    title=f"{owner.name} products",
                    link=origins[0] if origins else "",
                    description=f"Products of {owner.name}, with their live copy from Merchlab.",
                ):
                    fh.write(chunk)
            self._report(f"Wrote {summary.items:,} items to {feed}", summary.left_out)
        if google_ads:
            with google_ads.open("w", encoding="utf-8", newline="") as fh:
                ads = ads_csv.write(
                    products_for_channels(owner),
                    fh,
                    campaign=f"{owner.name} - Search",
                    group_by=group_by,
                )
            self._report(
                f"Wrote {ads.ads:,} ads in {ads.ad_groups:,} ad groups to {google_ads}",
                ads.left_out,
            )

    def _report(self, done: str, left_out) -> None:
        for entry in left_out[:50]:
            self.stderr.write(f"left out {entry.sku}: {'; '.join(entry.reasons)}")
        if len(left_out) > 50:
            self.stderr.write(f"... and {len(left_out) - 50:,} more left out")
        self.stdout.write(self.style.SUCCESS(f"{done}; {len(left_out):,} products left out."))
