"""python manage.py find_segments --merchant SLUG: rebuild profiles and find segments now."""

from django.core.management.base import BaseCommand, CommandError

from merchandising.accounts.models import Merchant
from recsys.segments.clustering import NotEnoughVisitors
from recsys.segments.services import segments_discover


class Command(BaseCommand):
    help = "Rebuild visitor profiles and find shopper segments for a merchant (in this process)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--max-k", type=int, default=8, help="largest number of segments tried")

    def handle(self, *args, merchant, max_k, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant {merchant!r}.")

        def report(progress: int, message: str = "") -> None:
            self.stdout.write(f"{progress:3d}% {message}")

        try:
            run = segments_discover(merchant=shop, report=report, k_range=range(2, max_k + 1))
        except NotEnoughVisitors as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{run.k} segments from {run.visitors} visitors ({run.criterion}: {run.silhouette:.3f})"
        )
        for segment in run.segments.order_by("-size"):
            self.stdout.write(f"  {segment.size:6d}  {segment.name}")
