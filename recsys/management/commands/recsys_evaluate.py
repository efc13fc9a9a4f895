"""python manage.py recsys_evaluate --data DIR [--split time|last|last_basket] [--k 10] [--json OUT]
[--max-users N]

Trains ``popularity``, ``lightfm_cf`` (ids only), ``merchlab`` (the production
configuration, through the same ``recsys.training.train`` as the Celery job),
``bought_together`` and ``next_items`` (``recsys.training.train_components``, as the job) and
their ``blend`` (weights fitted by ``recsys.fusion``, cross-fitted over the evaluated visitors)
on the training split of DIR and prints precision, recall, NDCG and AUC at k, cold-item and
cold-user results and training seconds (see ``recsys.evaluation.evaluate`` for the
definitions and ``recsys.datasets`` for the DIR format and converters of the shared data
sets). Every model runs all its epochs; ``--config '{"epochs": 5, "next_items": {"epochs": 3}}'``
makes a quick run.

``--split last_basket`` evaluates product-page anchors instead (``recsys.evaluation.
evaluate_anchors``): each customer's last basket is held out, its first product is the anchor
and the rest are to be found; models ``popularity``, ``bought_together``,
``bought_together_other_families`` and ``similar``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recsys.datasets import load_dir
from recsys.evaluation import ANCHOR_MODELS, MODELS, evaluate, evaluate_anchors, format_table
from recsys.services import training_config


class Command(BaseCommand):
    help = "Evaluate every recommender model and their blend on a data folder."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="folder with interactions.csv, items.csv")
        parser.add_argument("--split", choices=["time", "last", "last_basket"], default="time")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--json", dest="json_out", help="write the result as JSON here")
        parser.add_argument(
            "--models",
            default="",
            help="comma-separated subset of "
            + ",".join(MODELS)
            + " (or, with --split last_basket, of "
            + ",".join(ANCHOR_MODELS)
            + "); all of them by default",
        )
        parser.add_argument(
            "--max-users",
            type=int,
            default=None,
            help="score a seeded sample of at most this many visitors per group (baskets with "
            "--split last_basket; default: all)",
        )
        parser.add_argument(
            "--config", default="", help="JSON overrides of the merchlab TrainingConfig"
        )

    def handle(self, *args, data, split, k, json_out, models, config, max_users=None, **options):
        folder = Path(data)
        if not (folder / "interactions.csv").exists() or not (folder / "items.csv").exists():
            raise CommandError(
                f"{folder} needs interactions.csv and items.csv (see recsys.datasets)."
            )
        if k < 1:
            raise CommandError("--k must be at least 1.")
        if max_users is not None and max_users < 1:
            raise CommandError("--max-users must be at least 1.")
        known = ANCHOR_MODELS if split == "last_basket" else MODELS
        chosen = [m.strip() for m in models.split(",") if m.strip()] or list(known)
        unknown = set(chosen) - set(known)
        if unknown:
            raise CommandError(f"Unknown models: {', '.join(sorted(unknown))}.")
        try:
            overrides = json.loads(config) if config else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from exc
        started = time.perf_counter()
        try:
            dataset = load_dir(folder)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        steps = len(chosen) * 2 + 1
        with tqdm(total=steps, desc="evaluate", disable=options.get("verbosity", 1) == 0) as bar:

            def progress(message: str) -> None:
                bar.set_postfix_str(message)
                bar.update(1)

            if split == "last_basket":
                result = evaluate_anchors(
                    dataset, k=k, models=chosen, config=training_config(overrides),
                    progress=progress, max_baskets=max_users,
                )  # fmt: skip
            else:
                result = evaluate(
                    dataset, split, k=k, models=chosen, config=training_config(overrides),
                    progress=progress, max_users=max_users,
                )  # fmt: skip
        result["seconds"] = round(time.perf_counter() - started, 1)
        self.stdout.write(format_table(result))
        if json_out:
            Path(json_out).write_text(json.dumps(result, indent=2, default=float))
            self.stdout.write(f"wrote {json_out}")
