"""python manage.py erase_visitor --merchant SLUG VISITOR_ID: erase everything about a visitor."""

from django.core.management.base import BaseCommand, CommandError

from merchandising.accounts.models import Merchant
from recsys.segments.services import visitor_erase


class Command(BaseCommand):
    help = "Erase one visitor's events, profile, segment memberships and other rows (logged)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("visitor_id")

    def handle(self, *args, merchant, visitor_id, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant {merchant!r}.")
        result = visitor_erase(merchant=shop, visitor_id=visitor_id, via="command")
        self.stdout.write(result["message"])
