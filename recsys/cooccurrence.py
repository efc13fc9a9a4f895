"""Products bought together: item-to-item co-occurrence in baskets (pure: numpy and scipy).

A **basket** is what one visitor put in the cart or bought within one session: the visitor's
``add_to_cart`` and ``purchase`` events, ordered by time, split where two events lie more
than ``session_gap_hours`` apart (:func:`baskets`). Each basket counts once per product.

Counts (:func:`train_bought_together`): with ``w_b`` the weight of basket ``b`` (time decay,
``0.5 ** (age_days / half_life_days)`` of the basket's last event relative to the newest
one), ``n_i = sum_b w_b [i in b]`` and ``c_ij = sum_b w_b [i in b][j in b]``. Pair scores:

* ``cosine``: ``c_ij / sqrt(n_i n_j)`` (Sarwar et al. 2001, "Item-based collaborative
  filtering recommendation algorithms", WWW; Linden, Smith and York 2003, "Amazon.com
  recommendations: item-to-item collaborative filtering");
* ``lift``: ``c_ij N / (n_i n_j)`` with ``N = sum_b w_b`` (Agrawal, Imielinski and Swami
  1993; Brin et al. 1997 call it "interest");

both multiplied by the shrinkage factor ``c_ij / (c_ij + shrinkage)`` so that a pair seen in
one or two baskets cannot outrank a pair seen in fifty (Koren 2008, "Factorization meets the
neighborhood", KDD, eq. 8; Bell and Koren 2007). Only the ``max_neighbours`` best partners
of each product are kept, so the model is ``n_items x max_neighbours`` at most.

Near-duplicates: two products of the same **family** (:func:`family_key`: an explicit
``family`` / ``item_group_id`` / ``parent_sku`` attribute, else the title without colour and
size words) are variants of one another, not a complement; serving drops them unless the
placement asks for them (filter ``include_same_family``).

Anchors (:meth:`BoughtTogether.related`): one product (a product page) or several (a cart,
whose partners' scores are summed), each partner with the anchor that contributed most, for
the reason "often bought with <anchor title>".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

BASKET_EVENT_TYPES = ("add_to_cart", "purchase")
FAMILY_ATTRIBUTES = ("family", "product_family", "item_group_id", "parent_sku", "model")
# Variant words: a "Red mug" and a "Blue mug, large" are one family.
VARIANT_WORDS = frozenset(
    """
    black white red green blue yellow pink purple orange brown grey gray beige navy ivory cream
    gold silver copper bronze turquoise teal lilac khaki natural clear multi multicolour
    multicolor assorted light dark pastel small medium large xs s m l xl xxl xxxl mini jumbo
    ml cl cm mm g kg oz lb pcs pack set
    """.split()
)
_WORD = re.compile(r"[a-z0-9]+")
_SIZE = re.compile(r"^\d+(?:cm|mm|m|ml|l|g|kg|oz|in|x\d+)?$")


@dataclass
class BoughtTogetherConfig:
    event_types: tuple[str, ...] = BASKET_EVENT_TYPES
    session_gap_hours: float = 24.0
    measure: str = "cosine"  # or "lift"
    shrinkage: float = 3.0
    half_life_days: float | None = 180.0
    max_neighbours: int = 50
    # A basket bigger than this keeps its most recent products (pairs grow with its square).
    max_basket: int = 50

    @classmethod
    def from_dict(cls, data: Mapping | None) -> BoughtTogetherConfig:
        data = dict(data or {})
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "event_types" in known:
            known["event_types"] = tuple(known["event_types"])
        config = cls(**known)
        if config.measure not in ("cosine", "lift"):
            raise ValueError(f"measure must be cosine or lift, not {config.measure!r}")
        return config

    def to_dict(self) -> dict:
        out = asdict(self)
        out["event_types"] = list(self.event_types)
        return out


def family_key(record: Mapping) -> str:
    """The product family of a catalog record: variants of one product share it."""
    attributes = record.get("attributes") or {}
    if isinstance(attributes, Mapping):
        for name in FAMILY_ATTRIBUTES:
            value = attributes.get(name)
            if value not in (None, ""):
                return f"attr:{str(value).strip().lower()}"
    words = [
        w
        for w in _WORD.findall(str(record.get("title") or "").lower())
        if w not in VARIANT_WORDS and not _SIZE.match(w)
    ]
    if not words:
        return f"sku:{record.get('item_id', '')}"
    return "title:" + " ".join(words)


def baskets(
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    timestamps: Sequence[float],
    session_gap_hours: float = 24.0,
) -> list[tuple[float, list[str]]]:
    """(time of the basket's last event, distinct products in order of first appearance) per
    basket: each visitor's events by time, split where the gap exceeds ``session_gap_hours``."""
    n = len(user_ids)
    if n == 0:
        return []
    users = np.asarray(user_ids, dtype=object)
    stamps = np.asarray(timestamps, dtype=np.float64)
    order = np.lexsort((stamps, users.astype(str)))
    gap = float(session_gap_hours) * 3600.0
    out: list[tuple[float, list[str]]] = []
    current: dict[str, None] = {}
    last_user, last_ts = None, None
    for row in order:
        user, ts = users[row], stamps[row]
        if current and (user != last_user or ts - last_ts > gap):
            out.append((last_ts, list(current)))
            current = {}
        current.setdefault(str(item_ids[row]), None)
        last_user, last_ts = user, ts
    if current:
        out.append((last_ts, list(current)))
    return out


def shrunk_scores(
    pair_counts: np.ndarray,
    count_i: np.ndarray,
    count_j: np.ndarray,
    total: float,
    measure: str = "cosine",
    shrinkage: float = 3.0,
) -> np.ndarray:
    """Pair scores from (decayed) counts: cosine or lift, times ``c / (c + shrinkage)``."""
    c = np.asarray(pair_counts, dtype=np.float64)
    ni = np.asarray(count_i, dtype=np.float64)
    nj = np.asarray(count_j, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "lift":
            base = c * float(total) / (ni * nj)
        elif measure == "cosine":
            base = c / np.sqrt(ni * nj)
        else:
            raise ValueError(f"measure must be cosine or lift, not {measure!r}")
        shrink = c / (c + float(shrinkage)) if shrinkage > 0 else np.ones_like(c)
    return np.nan_to_num(base * shrink, nan=0.0, posinf=0.0, neginf=0.0)


class BoughtTogether:
    """The trained model: for each product its best partners and their scores."""

    name = "bought_together"

    def __init__(
        self,
        *,
        item_ids: list[str],
        neighbours: sp.csr_matrix,
        config: BoughtTogetherConfig,
        meta: dict | None = None,
    ):
        self.item_ids = list(item_ids)
        self.item_index = {s: i for i, s in enumerate(self.item_ids)}
        self.neighbours = neighbours.tocsr()
        self.config = config
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return int(self.neighbours.nnz)

    def partners(self, item_id: str) -> list[tuple[str, float]]:
        """The product's partners, best first."""
        row = self.item_index.get(str(item_id))
        if row is None:
            return []
        start, end = self.neighbours.indptr[row], self.neighbours.indptr[row + 1]
        cols = self.neighbours.indices[start:end]
        vals = self.neighbours.data[start:end]
        order = np.argsort(-vals, kind="stable")
        return [(self.item_ids[cols[k]], float(vals[k])) for k in order]

    def related(self, anchor_ids: Iterable[str]) -> dict[str, tuple[float, str]]:
        """partner -> (summed score over the anchors, the anchor that contributed most).

        Anchors the model does not know add nothing; the anchors themselves are left out.
        """
        anchors = list(dict.fromkeys(str(a) for a in anchor_ids))
        totals: dict[str, float] = {}
        best: dict[str, tuple[float, str]] = {}
        for anchor in anchors:
            for partner, score in self.partners(anchor):
                totals[partner] = totals.get(partner, 0.0) + score
                if partner not in best or score > best[partner][0]:
                    best[partner] = (score, anchor)
        for anchor in anchors:
            totals.pop(anchor, None)
        return {p: (s, best[p][1]) for p, s in totals.items()}

    # -- persistence (inside the recommender artifact's .npz) --------------------------

    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        header = {"item_ids": self.item_ids, "config": self.config.to_dict(), "meta": self.meta}
        m = self.neighbours
        arrays = {
            "data": m.data.astype(np.float32),
            "indices": m.indices.astype(np.int32),
            "indptr": m.indptr.astype(np.int64),
            "shape": np.asarray(m.shape, dtype=np.int64),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict, arrays: Mapping[str, np.ndarray]) -> BoughtTogether:
        matrix = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"])
        )
        return cls(
            item_ids=header["item_ids"],
            neighbours=matrix,
            config=BoughtTogetherConfig.from_dict(header.get("config")),
            meta=header.get("meta"),
        )


def _top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each row."""
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if start == end:
            continue
        v = matrix.data[start:end]
        c = matrix.indices[start:end]
        if len(v) > k:
            keep = np.argpartition(-v, k - 1)[:k]
            v, c = v[keep], c[keep]
        rows.append(np.full(len(v), r, dtype=np.int64))
        cols.append(c)
        vals.append(v)
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=matrix.shape,
        dtype=np.float32,
    )


def train_bought_together(
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    timestamps: Sequence[float],
    event_types: Sequence[str] | None = None,
    config: BoughtTogetherConfig | None = None,
    now: float | None = None,
) -> BoughtTogether:
    """Count pairs in baskets and keep each product's best partners (see module docstring).

    ``event_types=None`` takes every row as a basket event (a purchase log). The model's
    ``meta`` says how many baskets and pairs it learned from, and ``meta["skipped"]`` why it
    is empty when it is (no cart or purchase events, or no basket with two products).
    """
    config = config or BoughtTogetherConfig()
    users = np.asarray(user_ids, dtype=object)
    items = np.asarray(item_ids, dtype=object)
    stamps = (
        np.asarray(timestamps, dtype=np.float64)
        if timestamps is not None
        else np.arange(len(users), dtype=np.float64)
    )
    if event_types is not None:
        keep = np.isin(np.asarray(event_types, dtype=object), list(config.event_types))
        users, items, stamps = users[keep], items[keep], stamps[keep]
    meta: dict = {"basket_events": int(len(users))}
    found = baskets(users, items, stamps, config.session_gap_hours)
    multi = [(ts, b[-config.max_basket :]) for ts, b in found if len(b) >= 2]
    meta["baskets"] = len(found)
    meta["baskets_with_pairs"] = len(multi)
    skipped = None
    if not len(users):
        skipped = "no add-to-cart or purchase events, so no products bought together"
    elif not multi:
        skipped = "no basket holds two different products yet"
    if skipped:
        meta["skipped"] = skipped
        return BoughtTogether(
            item_ids=[],
            neighbours=sp.csr_matrix((0, 0), dtype=np.float32),
            config=config,
            meta=meta,
        )

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for b, (_ts, basket) in enumerate(multi):
        for sku in basket:
            rows.append(b)
            cols.append(vocabulary.setdefault(sku, len(vocabulary)))
    reference = float(now) if now is not None else float(stamps.max())
    ends = np.asarray([ts for ts, _ in multi], dtype=np.float64)
    if config.half_life_days:
        age_days = np.maximum(reference - ends, 0.0) / 86400.0
        weights = 0.5 ** (age_days / float(config.half_life_days))
    else:
        weights = np.ones(len(multi))
    incidence = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(multi), len(vocabulary)), dtype=np.float64
    )
    counts = (incidence.T @ sp.diags(weights) @ incidence).tocoo()
    n_item = np.asarray(incidence.T @ weights).ravel()
    off = counts.row != counts.col
    r, c, v = counts.row[off], counts.col[off], counts.data[off]
    scores = shrunk_scores(
        v, n_item[r], n_item[c], float(weights.sum()), config.measure, config.shrinkage
    )
    matrix = sp.csr_matrix((scores, (r, c)), shape=(len(vocabulary), len(vocabulary)))
    neighbours = _top_per_row(matrix, config.max_neighbours)
    meta["pairs"] = int(len(v) // 2)
    meta["items_with_partners"] = int(np.count_nonzero(np.diff(neighbours.indptr)))
    return BoughtTogether(
        item_ids=list(vocabulary), neighbours=neighbours, config=config, meta=meta
    )
