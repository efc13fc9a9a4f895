"""python manage.py simulate_experiment_traffic KEY: simulated shoppers visit a copy experiment's
product pages (demo data), so its report has numbers to show. Starts the test if it is a draft."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from merchandising.demo.experiments_demo import COPY_VISIT_PROBABILITY, simulate_copy_traffic
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
        from merchandising.demo.seed import DemoContext, demo_simulator
        from merchandising.demo.shoppers import ShopperSimulator

        experiment = (
            Experiment.objects.filter(merchant__slug=merchant, key=key)
            .select_related("merchant")
            .first()
        )
        if experiment is None:
            raise CommandError(f"No experiment {key!r} for merchant {merchant!r}.")
        if experiment.kind != Experiment.Kind.COPY:
            raise CommandError("Only copy experiments: placement tests get traffic from the seed.")
        if experiment.status == Experiment.Status.STOPPED:
            raise CommandError("The experiment is stopped.")
        if not 1 <= days <= 60 or not 1 <= visitors <= 50_000 or uplift <= -1:
            raise CommandError("Use 1-60 days, 1-50,000 visitors and an uplift above -1.")
        organic = demo_simulator(DemoContext(merchant=experiment.merchant, owner=None))
        simulator = ShopperSimulator(
            list(organic.products.values()),
            n_visitors=visitors,
            seed=seed,
            start=organic.start,
            variant_uplift={v.name: uplift for v in experiment.variants.all() if not v.is_control},
        )
        end = timezone.now() - timedelta(hours=1)
        visits = simulate_copy_traffic(
            experiment=experiment,
            simulator=simulator,
            start=end - timedelta(days=days),
            days=days,
            visit_probability=COPY_VISIT_PROBABILITY,
        )
        self.stdout.write(
            f"{visits:,} simulated visits to {experiment.key}; its report is up to date."
        )
