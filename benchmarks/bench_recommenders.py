"""Benchmark: the models beyond the hybrid (bought together, next items) and their blend.

Two parts, each optional:

* ``--synthetic N``: training seconds of each component model on N synthetic events (the
  shop of ``bench_recsys_train.py``: 50,000 products, 100,000 visitors at N = 1,000,000);
* ``--data DIR``: on a data folder in the standard format (``recsys.datasets``), every model
  and their blend on the time hold-out (``recsys.evaluation.fusion_holdout``: all models
  trained on the first 80% of rows, NDCG@10 per model, blend weights fitted and
  cross-fitted).

Writes ``benchmarks/results/recommenders_<name>.json``.

    python benchmarks/bench_recommenders.py --synthetic 1000000
    python benchmarks/bench_recommenders.py --data /tmp/eval/ml-100k [--max-users 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recsys_train import synthetic  # noqa: E402

from recsys.datasets import load_dir  # noqa: E402
from recsys.evaluation import (  # noqa: E402
    fusion_holdout,
    training_data,
    without_decay_on_positions,
)
from recsys.training import TrainingConfig, train_components  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def components_timing(n_events: int, config: TrainingConfig) -> dict:
    data = synthetic(n_events, min(50_000, max(n_events // 20, 100)), max(n_events // 10, 10))
    started = time.perf_counter()
    _components, report = train_components(data, config)
    return {
        "events": len(data),
        "seconds": round(time.perf_counter() - started, 1),
        "components": report,
    }


def holdout(folder: str, config: TrainingConfig, max_users: int) -> dict:
    dataset = load_dir(folder)
    without_decay_on_positions(config, dataset.timestamps)
    started = time.perf_counter()
    result = fusion_holdout(training_data(dataset), config, max_users=max_users)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["data"] = dataset.name
    result["rows"] = len(dataset)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--data", default="")
    parser.add_argument("--max-users", type=int, default=500)
    parser.add_argument("--config", default="{}", help="TrainingConfig overrides (JSON)")
    args = parser.parse_args()
    config = TrainingConfig.from_dict(json.loads(args.config))
    out: dict = {"benchmark": "recommenders", "machine": machine()}
    name = "recommenders"
    if args.synthetic:
        out["synthetic"] = components_timing(args.synthetic, config)
        name += f"_synthetic{args.synthetic}"
        print(json.dumps(out["synthetic"], indent=2), flush=True)
    if args.data:
        out["holdout"] = holdout(args.data, config, args.max_users)
        name += f"_{Path(args.data).name}"
        print(json.dumps(out["holdout"], indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
