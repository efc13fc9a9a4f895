"""Find shopper segments in visitor profiles and describe them (pure: numpy/scikit-learn).

Method:

1. Features per visitor (``feature_matrix``): attention share per top-level category, price
   position, RFM (log orders, log spend, recency), log activity, and optionally the visitor's
   learned LightFM representation (unit length). Each column is standardised (z-score) and each
   group of columns is scaled so its total variance equals its weight: a group's influence on
   distances does not grow with its number of columns.
2. k-means (Lloyd's algorithm with k-means++ seeding: Arthur & Vassilvitskii, "k-means++: the
   advantages of careful seeding", SODA 2007) for every k in a range.
3. The number of segments is the k with the highest mean silhouette coefficient (Rousseeuw,
   "Silhouettes: a graphical aid to the interpretation and validation of cluster analysis",
   J. Comput. Appl. Math. 1987): how much closer each visitor is to its own segment than to
   the nearest other one, averaged. Every k's score is returned so the choice can be shown.
4. Each segment gets a card (size, conversion rate, average order value, top categories and
   brands, differences from everyone) and a readable name built from what sets it apart:
   price band, the categories it over-indexes on, and its buying behaviour.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .profiles import Profile, price_band

MIN_VISITORS = 20
DEFAULT_WEIGHTS = {"categories": 3.0, "price": 1.0, "rfm": 1.0, "embedding": 1.5}


class NotEnoughVisitors(ValueError):
    """Too few visitors with behaviour to find segments."""


def feature_matrix(
    profiles: Sequence[Profile],
    *,
    categories: Sequence[str] | None = None,
    embeddings: Mapping[str, Sequence[float]] | None = None,
    weights: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """(matrix n_visitors x n_features, feature names) for clustering."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    if categories is None:
        categories = sorted({c for p in profiles for c in p.category_shares})
    groups: list[tuple[str, np.ndarray, list[str]]] = []
    shares = np.array([[p.category_shares.get(c, 0.0) for c in categories] for p in profiles])
    groups.append(("categories", shares, [f"share:{c}" for c in categories]))
    price = np.array(
        [[p.price_position if p.price_position is not None else 0.5] for p in profiles]
    )
    groups.append(("price", price, ["price_position"]))
    rfm = np.array(
        [
            [
                math.log1p(p.frequency),
                math.log1p(p.monetary),
                min(p.recency_days, 365.0) / 30.0,
                math.log1p(p.views + p.clicks + p.carts),
            ]
            for p in profiles
        ]
    )
    groups.append(("rfm", rfm, ["log_orders", "log_spend", "recency_months", "log_activity"]))
    if embeddings:
        dim = len(next(iter(embeddings.values())))
        emb = np.zeros((len(profiles), dim))
        for i, p in enumerate(profiles):
            vector = embeddings.get(p.visitor_id)
            if vector is not None:
                v = np.asarray(vector, dtype=float)
                norm = np.linalg.norm(v)
                emb[i] = v / norm if norm else v
        groups.append(("embedding", emb, [f"lightfm_{j}" for j in range(dim)]))

    columns, names = [], []
    for group, block, block_names in groups:
        std = block.std(axis=0)
        keep = std > 1e-9
        if not keep.any() or weights.get(group, 0.0) <= 0:
            continue
        z = (block[:, keep] - block[:, keep].mean(axis=0)) / std[keep]
        z *= math.sqrt(weights[group] / keep.sum())
        columns.append(z)
        names.extend(n for n, k in zip(block_names, keep, strict=True) if k)
    if not columns:
        return np.zeros((len(profiles), 0)), []
    return np.hstack(columns), names


@dataclass
class Clustering:
    k: int
    labels: np.ndarray
    silhouette: float
    scores: dict[int, float]  # k -> mean silhouette
    criterion: str = "highest mean silhouette coefficient"


def cluster(
    matrix: np.ndarray,
    *,
    k_range: Sequence[int] = range(2, 9),
    seed: int = 0,
    silhouette_sample: int = 3000,
) -> Clustering:
    """k-means for each k in ``k_range``; keep the k with the best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(matrix)
    if n < MIN_VISITORS:
        raise NotEnoughVisitors(
            f"Only {n} visitors have behaviour to learn from; at least {MIN_VISITORS} are needed "
            "to find segments."
        )
    if matrix.shape[1] == 0:
        raise NotEnoughVisitors("The visitors' behaviour does not differ yet; nothing to cluster.")
    best: Clustering | None = None
    scores: dict[int, float] = {}
    for k in k_range:
        if k < 2 or k >= n:
            continue
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(matrix)
        if len(set(model.labels_)) < 2:
            continue
        score = float(
            silhouette_score(
                matrix,
                model.labels_,
                sample_size=min(n, silhouette_sample),
                random_state=seed,
            )
        )
        scores[k] = round(score, 4)
        if best is None or score > best.silhouette:
            best = Clustering(k=k, labels=model.labels_.copy(), silhouette=score, scores=scores)
    if best is None:
        raise NotEnoughVisitors("No clustering could be made from these visitors.")
    best.scores = scores
    return best


@dataclass
class SegmentCard:
    label: int
    name: str
    size: int
    share: float
    conversion_rate: float
    average_order_value: float
    repeat_rate: float
    top_categories: list[tuple[str, float]]  # (category, share of attention)
    top_brands: list[tuple[str, int]]
    price_band: str
    top_device: str
    top_country: str
    differences: list[str] = field(default_factory=list)  # readable "how it differs" lines
    category_lift: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "name": self.name,
            "size": self.size,
            "share": round(self.share, 4),
            "conversion_rate": round(self.conversion_rate, 4),
            "average_order_value": round(self.average_order_value, 2),
            "repeat_rate": round(self.repeat_rate, 4),
            "top_categories": [[c, round(s, 4)] for c, s in self.top_categories],
            "top_brands": [[b, n] for b, n in self.top_brands],
            "price_band": self.price_band,
            "top_device": self.top_device,
            "top_country": self.top_country,
            "differences": self.differences,
            "category_lift": {c: round(v, 2) for c, v in self.category_lift.items()},
        }


@dataclass
class _Stats:
    size: int
    conversion: float
    aov: float
    repeat: float
    recency: float
    price: float | None
    shares: dict[str, float]


def _stats(members: Sequence[Profile]) -> _Stats:
    size = len(members)
    orders = sum(p.frequency for p in members)
    spend = sum(p.monetary for p in members)
    shares: Counter = Counter()
    for p in members:
        shares.update(p.category_shares)
    positions = [p.price_position for p in members if p.price_position is not None]
    return _Stats(
        size=size,
        conversion=sum(p.converted for p in members) / size if size else 0.0,
        aov=spend / orders if orders else 0.0,
        repeat=sum(p.frequency >= 2 for p in members) / size if size else 0.0,
        recency=sum(p.recency_days for p in members) / size if size else 0.0,
        price=sum(positions) / len(positions) if positions else None,
        shares={c: v / size for c, v in shares.items()} if size else {},
    )


def _join(words: list[str]) -> str:
    words = [w.lower() for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " & " + words[-1]


def name_segment(stats: _Stats, everyone: _Stats) -> str:
    """A readable name from what distinguishes the segment from everyone."""
    band = price_band(stats.price)
    price_word = {"budget": "Budget", "premium": "Premium"}.get(band, "")
    lifts = {
        c: share / everyone.shares[c]
        for c, share in stats.shares.items()
        if everyone.shares.get(c, 0) > 0
    }
    standouts = [
        c for c, _ in sorted(stats.shares.items(), key=lambda kv: -kv[1]) if lifts.get(c, 0) >= 1.3
    ][:2]
    if not standouts:
        standouts = [c for c, _ in sorted(stats.shares.items(), key=lambda kv: -kv[1])[:1]] or []
    topic = _join(standouts) if standouts else "all-category"
    if stats.repeat >= max(0.2, 1.5 * everyone.repeat):
        who = f"{topic}, repeat customers"
    elif everyone.conversion and stats.conversion < 0.5 * everyone.conversion:
        who = f"{topic} browsers"
    elif stats.recency > 2 * max(everyone.recency, 1.0):
        who = f"lapsed {topic} shoppers"
    else:
        who = f"{topic} buyers"
    name = f"{price_word} {who}".strip()
    return name[:1].upper() + name[1:]


def describe_segments(profiles: Sequence[Profile], labels: Sequence[int]) -> list[SegmentCard]:
    """A card per segment, largest first, with unique readable names."""
    everyone = _stats(profiles)
    by_label: dict[int, list[Profile]] = {}
    for profile, label in zip(profiles, labels, strict=True):
        by_label.setdefault(int(label), []).append(profile)
    cards = []
    for label, members in by_label.items():
        s = _stats(members)
        brands: Counter = Counter()
        for p in members:
            brands.update(p.top_brands[:1])
        lift = {
            c: s.shares[c] / everyone.shares[c] for c in s.shares if everyone.shares.get(c, 0) > 0
        }
        differences = []
        for c, v in sorted(lift.items(), key=lambda kv: -kv[1])[:2]:
            if v >= 1.3:
                differences.append(f"{v:.1f}× the attention to {c} of the average visitor")
        if everyone.conversion:
            differences.append(f"converts {s.conversion:.0%} vs {everyone.conversion:.0%} overall")
        if everyone.aov and s.aov:
            differences.append(f"average order {s.aov / everyone.aov:.1f}× the overall average")
        if s.price is not None and everyone.price is not None:
            differences.append(
                f"buys at the {s.price:.0%} price percentile of a category (overall {everyone.price:.0%})"
            )
        devices = Counter(p.device for p in members if p.device)
        countries = Counter(p.country for p in members if p.country)
        cards.append(
            SegmentCard(
                label=label,
                name=name_segment(s, everyone),
                size=len(members),
                share=len(members) / len(profiles),
                conversion_rate=s.conversion,
                average_order_value=s.aov,
                repeat_rate=s.repeat,
                top_categories=sorted(s.shares.items(), key=lambda kv: -kv[1])[:3],
                top_brands=brands.most_common(3),
                price_band=price_band(s.price),
                top_device=devices.most_common(1)[0][0] if devices else "",
                top_country=countries.most_common(1)[0][0] if countries else "",
                differences=differences,
                category_lift=lift,
            )
        )
    cards.sort(key=lambda c: -c.size)
    seen: Counter = Counter()
    for card in cards:
        seen[card.name] += 1
        if seen[card.name] > 1:
            extra = f"mostly {card.top_device}" if card.top_device else f"group {seen[card.name]}"
            card.name = f"{card.name} ({extra})"
    return cards


def audience_phrase(card: Mapping) -> str:
    """Who a segment is, as a phrase a copy prompt can carry ("value-conscious kitchen & home
    shoppers"), from its card (``SegmentCard.as_dict()``)."""
    band = card.get("price_band", "")
    adjective = {"budget": "value-conscious", "premium": "quality-focused"}.get(band, "")
    categories = [c for c, share in card.get("top_categories", [])[:2] if share >= 0.15]
    lift = card.get("category_lift") or {}
    categories = [c for c in categories if lift.get(c, 2.0) >= 1.3] or categories[:1]
    topic = _join(categories) if categories else ""
    who = "repeat customers" if card.get("repeat_rate", 0) >= 0.3 else "shoppers"
    if not (adjective or topic):
        return "all shoppers"
    return " ".join(w for w in (adjective, topic, who) if w)
