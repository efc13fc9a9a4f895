"""Rebuild the house copywriting adapter from ``../shared/data`` with a fixed seed.

    python manage.py house_adapter [--data ../shared/data] [--out contentgen/finetuning/house_adapter]
        [--held-out-csv var/house/held_out.csv] [--max-steps N] [--seed S] [--held-out-only]

Prints progress per optimizer step with the time left, then the data card as JSON. With
``--held-out-only`` it writes the held-out products CSV (for ``copy_evaluate``) and stops.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contentgen.finetuning import house
from contentgen.finetuning.training import FinetuneError


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Command(BaseCommand):
    help = "Rebuild the house copywriting adapter (LoRA) from the shared real product copy."

    def add_arguments(self, parser):
        default_data = Path(settings.BASE_DIR).parent / "shared" / "data"
        parser.add_argument("--data", default=str(default_data), help="the shared data folder")
        parser.add_argument("--out", default=str(house.HOUSE_ADAPTER_DIR))
        parser.add_argument(
            "--held-out-csv",
            default=str(Path(settings.VAR_DIR) / "house" / "held_out.csv"),
            help="where to write the held-out products (never trained on)",
        )
        parser.add_argument("--max-steps", type=int, default=None, help="stop early (smoke runs)")
        parser.add_argument("--seed", type=int, default=house.HOUSE_SEED)
        parser.add_argument("--model", default=None, help="base model (default: the default)")
        parser.add_argument(
            "--held-out-only", action="store_true", help="only write the held-out CSV"
        )

    def handle(self, *args, **opts):
        data = Path(opts["data"])
        if not data.is_dir():
            raise CommandError(f"No data folder at {data}: pass --data PATH to shared/data.")
        if opts["held_out_only"]:
            try:
                built = house.build_house_data(data, seed=opts["seed"])
            except FileNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            n = house.write_held_out_csv(built.held_out, Path(opts["held_out_csv"]))
            self.stdout.write(f"Wrote {n} held-out products to {opts['held_out_csv']}")
            return
        started = time.monotonic()

        def progress(step, total, loss, seconds_left):
            self.stderr.write(
                f"step {step}/{total}  loss {loss:.3f}  elapsed {_duration(time.monotonic() - started)}"
                f"  left ~{_duration(seconds_left)}"
            )

        try:
            card = house.train_house_adapter(
                data,
                Path(opts["out"]),
                seed=opts["seed"],
                max_steps=opts["max_steps"],
                held_out_csv=Path(opts["held_out_csv"]),
                model=opts["model"],
                progress=progress,
                say=lambda m: self.stderr.write(m),
            )
        except (FileNotFoundError, FinetuneError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(card, indent=2, default=str))
