"""A small synthetic shop with latent structure: visitors prefer the products of one group.

Each product belongs to a category (its group) and has a brand and words that reveal the
group, so metadata alone can place a product that nobody has touched yet.
"""

from __future__ import annotations

import numpy as np

from recsys.training import TrainingData

GROUPS = ["garden", "kitchen", "toys", "books"]
WORDS = {
    "garden": "hose shovel seeds rake",
    "kitchen": "pan knife kettle whisk",
    "toys": "puzzle doll blocks kite",
    "books": "novel poetry atlas memoir",
}


def make_shop(n_users=160, n_items=80, per_user=12, seed=0, cold_items=0):
    rng = np.random.RandomState(seed)
    items = []
    for i in range(n_items + cold_items):
        group = GROUPS[i % len(GROUPS)]
        items.append(
            {
                "item_id": f"sku-{i}",
                "title": f"{group} item {WORDS[group].split()[i % 4]}",
                "description": WORDS[group],
                "brand": f"{group}-brand-{i % 3}",
                "category": f"Home > {group.title()}",
                "price": float(5 + 10 * (i % 7)),
                "tags": [group],
            }
        )
    users, item_ids, stamps = [], [], []
    by_group = {g: [i for i in range(n_items) if GROUPS[i % len(GROUPS)] == g] for g in GROUPS}
    for u in range(n_users):
        group = GROUPS[u % len(GROUPS)]
        for j in range(per_user):
            if rng.rand() < 0.85:
                item = rng.choice(by_group[group])
            else:
                item = rng.randint(n_items)
            users.append(f"visitor-{u}")
            item_ids.append(f"sku-{item}")
            stamps.append(1_700_000_000 + u * 1000 + j * 60)
    user_records = [
        {"user_id": f"visitor-{u}", "country": GROUPS[u % len(GROUPS)][:2]} for u in range(n_users)
    ]
    return items, users, item_ids, np.asarray(stamps, dtype=float), user_records


def make_training_data(**kwargs) -> TrainingData:
    items, users, item_ids, stamps, user_records = make_shop(**kwargs)
    return TrainingData(
        user_ids=users,
        item_ids=item_ids,
        timestamps=stamps,
        event_types=["view"] * len(users),
        items=items,
        users=user_records,
    )
