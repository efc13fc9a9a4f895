"""python manage.py train_recommender --merchant SLUG [--update] [--no-eval] [--config JSON]

Runs the same service as the Celery job in this process (with a tqdm progress bar) and
prints the registered model version; ``--queue`` submits a Job to the ``default`` queue instead.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from merchandising.accounts.models import Merchant
from recsys import services
from recsys.training import NotEnoughData


class Command(BaseCommand):
    help = "Train (or incrementally update) a merchant's recommender and register the version."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--update", action="store_true", help="fit_partial on new events")
        parser.add_argument("--no-eval", action="store_true", help="skip the hold-out evaluation")
        parser.add_argument("--no-activate", action="store_true")
        parser.add_argument("--queue", action="store_true", help="submit a Celery job instead")
        parser.add_argument("--config", default="", help="JSON TrainingConfig overrides")

    def handle(self, *args, **opts):
        merchant = Merchant.objects.filter(slug=opts["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant with slug {opts['merchant']!r}.")
        try:
            config = json.loads(opts["config"]) if opts["config"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from exc
        if opts["queue"]:
            if opts["update"]:
                job = services.recommender_update_submit(merchant=merchant)
            else:
                job = services.recommender_train_submit(merchant=merchant, config=config)
            self.stdout.write(f"submitted job {job.pk} ({job.kind})")
            return
        with tqdm(total=100, desc="train", disable=opts.get("verbosity", 1) == 0) as bar:

            def report(progress: int, message: str = "") -> None:
                bar.n = progress
                bar.set_postfix_str(message[:60])
                bar.refresh()

            try:
                if opts["update"]:
                    version = services.recommender_update(
                        merchant=merchant, report=report, activate=not opts["no_activate"]
                    )
                else:
                    version = services.recommender_train(
                        merchant=merchant,
                        report=report,
                        config=config,
                        evaluate_holdout=not opts["no_eval"],
                        activate=not opts["no_activate"],
                    )
            except NotEnoughData as exc:
                raise CommandError(str(exc)) from exc
        models = (version.metrics or {}).get("models") or {}
        line = f"model v{version.version} ({version.kind}) in {version.training_seconds:.1f} s"
        if "merchlab" in models and "popularity" in models:
            line += (
                f"; hold-out ndcg@10 {models['merchlab']['ndcg']:.4f}"
                f" vs popularity {models['popularity']['ndcg']:.4f}"
            )
        self.stdout.write(line + f"; counts {version.counts}")
