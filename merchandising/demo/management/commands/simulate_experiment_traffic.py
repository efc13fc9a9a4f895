"""python manage.py simulate_experiment_traffic KEY: simulated shoppers visit a copy experiment's
product pages (demo data), so its report has numbers to show. Starts the test if it is a draft."""

from django.core.management.base import BaseCommand, CommandError

from merchandising.demo.experiments_demo import simulate_copy_experiment
from merchandising.demo.seed import DEMO_SEED, DEMO_SLUG
from merchandising.experiments.models import Experiment


class Command(BaseCommand):
    help = (
        "Send simulated shoppers to a copy experiment's product pages over the last DAYS days "
        "(demo data: visits, carts and purchases go through the storefront's assignment, exposure "
        "and events code), with a true relative uplift built into every non-control variant, "
        "then recompute the report's numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="the experiment key")
        parser.add_argument("--merchant", default=DEMO_SLUG, help="merchant slug (default: demo)")
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--visitors", type=int, default=3000)
        parser.add_argument(
            "--uplift",
            type=float,
            default=0.3,
            help="true relative add-to-cart uplift of the non-control variants (0 for an A/A)",
        )
        parser.add_argument("--seed", type=int, default=DEMO_SEED + 3)

    def handle(self, *args, key, merchant, days, visitors, uplift, seed, **options):
        experiment = (
            Experiment.objects.filter(merchant__slug=merchant, key=key)
            .select_related("merchant")
            .first()
        )
        if experiment is None:
            raise CommandError(f"No experiment {key!r} for merchant {merchant!r}.")
        try:
            visits = simulate_copy_experiment(
                experiment, days=days, visitors=visitors, uplift=uplift, seed=seed
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{visits:,} simulated visits to {experiment.key}; its report is up to date."
        )
