"""Benchmark: full recommender training at shop scale.

1,000,000 interactions by 100,000 visitors on 50,000 products (synthetic, with latent taste
groups and full product metadata), trained with the production configuration through
``recsys.training.train`` (the code the Celery job runs). Prints the phases and writes
``benchmarks/results/recsys_train.json``.

    python benchmarks/bench_recsys_train.py [--events 1000000] [--items 50000] [--visitors 100000]
        [--config '{"epochs": 10}']
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys.training import TrainingConfig, TrainingData, train  # noqa: E402

WORDS = (
    "steel copper linen oak wool cotton glass ceramic leather bamboo compact deluxe classic "
    "outdoor travel kids eco premium mini pro organic vintage modern rustic smart wireless"
).split()


def synthetic(n_events: int, n_items: int, n_visitors: int, seed: int = 0) -> TrainingData:
    rng = np.random.RandomState(seed)
    n_groups = 40
    top = [f"Dept{i}" for i in range(10)]
    item_group = rng.randint(n_groups, size=n_items)
    items = []
    for i in range(n_items):
        g = int(item_group[i])
        words = rng.choice(WORDS, size=4, replace=False)
        items.append(
            {
                "item_id": f"SKU-{i}",
                "title": f"{words[0]} {words[1]} item {g}",
                "description": " ".join(words),
                "brand": f"brand-{(g * 7 + i % 5) % 300}",
                "category": f"{top[g % 10]} > Sub{g} > Leaf{g}-{i % 6}",
                "price": float(np.round(np.exp(rng.normal(3 + (g % 5) * 0.3, 0.6)), 2)),
                "tags": [f"tag{g % 15}", f"tag{(g + i) % 50}"],
                "attributes": {"color": f"c{i % 12}", "size": f"s{i % 5}"},
            }
        )
    by_group = [np.flatnonzero(item_group == g) for g in range(n_groups)]
    # Popularity within a group follows a Zipf-like law, as in real shops.
    weights = []
    for members in by_group:
        w = 1.0 / np.arange(1, len(members) + 1) ** 0.8
        weights.append(w / w.sum())
    visitor_group = rng.randint(n_groups, size=n_visitors)
    visitors = rng.randint(n_visitors, size=n_events)
    own = rng.rand(n_events) < 0.8
    item_idx = np.empty(n_events, dtype=np.int64)
    for g in range(n_groups):
        mask = own & (visitor_group[visitors] == g)
        item_idx[mask] = rng.choice(by_group[g], size=int(mask.sum()), p=weights[g])
    item_idx[~own] = rng.randint(n_items, size=int((~own).sum()))
    types = rng.choice(
        ["view", "click", "add_to_cart", "purchase"], size=n_events, p=[0.7, 0.15, 0.1, 0.05]
    )
    ts = 1_760_000_000 + np.sort(rng.randint(0, 90 * 86400, size=n_events)).astype(float)
    users = [
        {
            "user_id": f"V-{v}",
            "device": ["mobile", "desktop", "tablet"][v % 3],
            "country": f"C{v % 20}",
            "first_seen": 1_760_000_000 + (v % 90) * 86400,
        }
        for v in range(n_visitors)
    ]
    return TrainingData(
        user_ids=[f"V-{v}" for v in visitors],
        item_ids=[f"SKU-{i}" for i in item_idx],
        timestamps=ts,
        event_types=list(types),
        items=items,
        users=users,
    )


def hold_out(data: TrainingData, n_visitors: int, seed: int = 1):
    """Remove the last event of ``n_visitors`` visitors (with 3+ events) from the data."""
    users = np.asarray(data.user_ids, dtype=object)
    last: dict[str, int] = {}
    counts: dict[str, int] = {}
    for row, user in enumerate(users):  # events are in time order
        last[user] = row
        counts[user] = counts.get(user, 0) + 1
    eligible = sorted(u for u, c in counts.items() if c >= 3)
    rng = np.random.RandomState(seed)
    chosen = rng.choice(eligible, size=min(n_visitors, len(eligible)), replace=False)
    test_rows = np.array(sorted(last[u] for u in chosen))
    keep = np.ones(len(users), dtype=bool)
    keep[test_rows] = False
    kept = TrainingData(
        user_ids=list(users[keep]),
        item_ids=list(np.asarray(data.item_ids, dtype=object)[keep]),
        timestamps=data.timestamps[keep],
        event_types=list(np.asarray(data.event_types, dtype=object)[keep]),
        items=data.items,
        users=data.users,
    )
    test = [(data.user_ids[r], data.item_ids[r]) for r in test_rows]
    return kept, test


def hit_rate(artifact, train: TrainingData, test, k: int = 10) -> dict:
    """Share of held-out events whose product is in the visitor's top k (train items excluded)."""
    seen: dict[int, set[int]] = {}
    wanted = {artifact.user_index[u] for u, _ in test if u in artifact.user_index}
    for user, item in zip(train.user_ids, train.item_ids, strict=True):
        row = artifact.user_index[user]
        if row in wanted:
            seen.setdefault(row, set()).add(artifact.item_index[item])
    popularity = artifact.item_popularity.astype(np.float64)
    hits_model = hits_pop = n = 0
    pairs = [(artifact.user_index[u], artifact.item_index[i]) for u, i in test
             if u in artifact.user_index and i in artifact.item_index]  # fmt: skip
    for start in range(0, len(pairs), 256):
        chunk = pairs[start : start + 256]
        scores = artifact.score_users(np.array([u for u, _ in chunk]))
        for j, (row, target) in enumerate(chunk):
            excluded = list(seen.get(row, ()) - {target})
            s = scores[j]
            s[excluded] = -np.inf
            hits_model += target in np.argpartition(-s, k)[:k]
            p = popularity.copy()
            p[excluded] = -np.inf
            hits_pop += target in np.argpartition(-p, k)[:k]
            n += 1
    return {
        "visitors": n,
        f"hit_rate@{k}": round(hits_model / max(n, 1), 4),
        f"popularity_hit_rate@{k}": round(hits_pop / max(n, 1), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--config", default="{}", help="TrainingConfig overrides (JSON)")
    parser.add_argument("--holdout", type=int, default=2000, help="visitors held out (0: none)")
    args = parser.parse_args()

    started = time.perf_counter()
    data = synthetic(args.events, args.items, args.visitors)
    generated = time.perf_counter() - started
    print(f"generated {len(data)} events in {generated:.1f} s", flush=True)
    test = []
    if args.holdout:
        data, test = hold_out(data, args.holdout)
        print(f"held out the last event of {len(test)} visitors", flush=True)

    config = TrainingConfig.from_dict(json.loads(args.config))
    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        marks.append((time.perf_counter() - t0, message))
        print(f"  {time.perf_counter() - t0:7.1f} s  {fraction:5.1%}  {message}", flush=True)

    artifact = train(data, config, progress)
    seconds = time.perf_counter() - t0
    features_seconds = next((t for t, m in marks if m.startswith("training on")), 0.0)
    t1 = time.perf_counter()
    blob = artifact.to_bytes()
    save_seconds = time.perf_counter() - t1
    quality = hit_rate(artifact, data, test) if test else {}
    result = {
        "benchmark": "recsys_train",
        "epochs_run": artifact.meta.get("epochs_run"),
        "holdout": quality,
        "events": len(data),
        "interactions": artifact.meta["interactions"],
        "items": len(artifact.item_ids),
        "visitors": len(artifact.user_ids),
        "item_features": artifact.meta["item_features"],
        "config": {
            k: getattr(config, k)
            for k in ("no_components", "loss", "epochs", "max_sampled", "num_threads")
        },
        "training_seconds": round(seconds, 1),
        "features_seconds": round(features_seconds, 1),
        "epochs_seconds": round(seconds - features_seconds, 1),
        "artifact_mb": round(len(blob) / 1e6, 1),
        "artifact_save_seconds": round(save_seconds, 2),
        "limit_seconds": 180,
        "within_limit": seconds <= 180,
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_average_at_end": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results" / "recsys_train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
