"""Fine-tune a LoRA adapter on approved copy from a JSONL/CSV file, without the database.

    python manage.py finetune_copy --train copy.jsonl --out adapters/acme \
        [--model ID_OR_PATH] [--epochs N | --max-steps N] [--eval-fraction F] [--seed S]

Prints one JSON object: base vs adapter held-out loss and guard pass rate, train loss,
steps and seconds. ``generate_copy --adapter DIR`` then uses the adapter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Train a LoRA brand-voice adapter on approved copy (JSONL or CSV) and report base vs adapter."

    def add_arguments(self, parser):
        parser.add_argument(
            "--train", required=True, help="JSONL ({product, kind, text} per line) or CSV file"
        )
        parser.add_argument(
            "--out",
            required=True,
            help="folder to write the adapter to (resumes if it has checkpoints)",
        )
        parser.add_argument(
            "--model",
            default=None,
            help="base model id or local path (default SmolLM2-135M-Instruct)",
        )
        steps = parser.add_mutually_exclusive_group()
        steps.add_argument("--epochs", type=float, default=None)
        steps.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--eval-fraction", type=float, default=0.2)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--rank", type=int, default=None)
        parser.add_argument("--alpha", type=int, default=None)
        parser.add_argument("--lr", type=float, default=None, help="learning rate")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--grad-accumulation", type=int, default=None)
        parser.add_argument("--max-length", type=int, default=None, help="max tokens per example")
        parser.add_argument("--checkpoint-every", type=int, default=None)
        parser.add_argument(
            "--voice", default=None, help="JSON file with the brand voice used in the prompts"
        )
        parser.add_argument("--min-examples", type=int, default=None)
        parser.add_argument(
            "--eval-samples",
            type=int,
            default=12,
            help="held-out texts generated for guard scores (0: skip)",
        )
        parser.add_argument(
            "--no-guard-filter",
            action="store_true",
            help="train on texts even when they fail hard guards",
        )

    def handle(self, *args, **opts):
        from tqdm import tqdm

        from contentgen.finetuning import data as D
        from contentgen.finetuning import pipeline
        from contentgen.finetuning import training as T

        path = Path(opts["train"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            records, errors = D.parse_upload(path.read_bytes(), path.name)
        except D.UploadError as exc:
            raise CommandError(str(exc)) from exc
        for err in errors[:20]:
            self.stderr.write(f"skipped {err}")
        if len(errors) > 20:
            self.stderr.write(f"... and {len(errors) - 20} more unreadable lines")

        overrides = {
            "epochs": opts["epochs"],
            "max_steps": opts["max_steps"],
            "seed": opts["seed"],
            "rank": opts["rank"],
            "alpha": opts["alpha"],
            "learning_rate": opts["lr"],
            "batch_size": opts["batch_size"],
            "grad_accumulation": opts["grad_accumulation"],
            "max_length": opts["max_length"],
            "checkpoint_every": opts["checkpoint_every"],
        }
        voice = None
        if opts["voice"]:
            try:
                voice = json.loads(Path(opts["voice"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"Could not read the voice file: {exc}") from exc

        bar = None

        def progress(step, total, loss, seconds_left):
            nonlocal bar
            if bar is None:
                bar = tqdm(
                    total=total, initial=step - 1, desc="fine-tuning", unit="step", file=sys.stderr
                )
            bar.set_postfix(loss=f"{loss:.3f}", left=f"{seconds_left:.0f}s", refresh=False)
            bar.update(1)

        try:
            settings = T.LoraSettings.from_dict(
                {k: v for k, v in overrides.items() if v is not None}
            )
            outcome = pipeline.finetune_records(
                records,
                out_dir=opts["out"],
                model=opts["model"],
                settings=settings,
                voice=voice,
                eval_fraction=opts["eval_fraction"],
                min_examples=opts["min_examples"]
                if opts["min_examples"] is not None
                else D.MIN_EXAMPLES,
                eval_samples=opts["eval_samples"],
                check_guards=not opts["no_guard_filter"],
                progress=progress,
                on_stage=lambda m: self.stderr.write(m + " ..."),
            )
        except T.FinetuneError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        for message in outcome.prepared.messages():
            self.stderr.write(message)
        self.stdout.write(json.dumps(outcome.summary(), indent=2))
