"""python manage.py seed_demo: the demo merchant, its staff, keys, catalog and (where those areas
are installed) simulated traffic, a trained recommender, copy waiting for review and an
experiment. Safe to run again: nothing is duplicated."""

from django.core.management.base import BaseCommand

from merchandising.demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_all


class Command(BaseCommand):
    help = "Create or refresh the demo merchant."

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip", action="append", default=[], help="skip a step by name (repeatable)"
        )

    def handle(self, *args, skip, **options):
        context = seed_all(say=lambda line: self.stdout.write(line), skip=tuple(skip))
        self.stdout.write(f"merchant: {context.merchant.name} ({context.merchant.slug})")
        for username, role in DEMO_USERS:
            self.stdout.write(f"login ({role}): {username} / {DEMO_PASSWORD}")
        self.stdout.write(f"secret key: {context.keys['secret']}")
        self.stdout.write(f"publishable key: {context.keys['publishable']}")
