"""Feature building for the LightFM hybrid recommender (pure: numpy/scipy, no Django).

Three things come out of here, all as scipy sparse matrices with id maps:

* the interaction matrix: one positive per (visitor, product) pair, with a sample weight that
  sums the events of that pair, each weighted by its type (view < click < add_to_cart <
  purchase, tunable) and by its age with an exponential half-life
  (``w = base * 0.5 ** (age_days / half_life_days)``), then compressed with ``log1p`` so a
  hundred views do not drown one purchase, and scaled to mean 1 so the learning rate means
  the same whatever the weights;
* item features: category path prefixes (``A``, ``A > B``, ``A > B > C``), brand, price
  band (quantiles of the catalog's log price), tags, attributes (``key=value``), any other
  categorical columns, and the words of the title and copy (a vocabulary of the most
  frequent words, limited by ``max_words``/``min_df``/``max_df``);
* user features: country, device, segments, first-seen cohort (month), other columns.

Each feature group gets a total weight (spread evenly over the group's active features)
and every row is L1-normalised, as LightFM's own ``Dataset.build_item_features(normalize=True)``
does (LightFM docs, "Building datasets"; Kula 2015, "Metadata Embeddings for User and Item
Cold-start Recommendations", arXiv:1507.08439: a hybrid representation is the sum of the
embeddings of its features). Rows also carry an identity feature (one column per id) when the
id has training interactions, so warm products keep their own learned vector while a product
that nobody has touched yet is embedded from its metadata alone: a cold item still gets a
sensible place.

Input records are plain dicts, so Django code (recsys.services), the evaluation data loader
(recsys.datasets) and tests all feed the same functions:

* item dict: ``item_id`` and optionally ``title``, ``description`` (copy), ``brand``,
  ``category`` (``"A > B > C"``), ``price``, ``tags`` (list or ``"a|b"``), ``attributes``
  (dict), plus any other key -> categorical feature (``"a|b"`` = several values).
* user dict: ``user_id`` and optionally ``country``, ``device``, ``segments`` (list),
  ``first_seen`` (unix seconds), plus any other key -> categorical feature.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "view": 1.0,
    "click": 2.0,
    "add_to_cart": 4.0,
    "purchase": 8.0,
}

SECONDS_PER_DAY = 86400.0

_WORD_RE = re.compile(r"[a-z][a-z0-9]+")
# Words that say nothing about a product; kept short on purpose (max_df removes the rest).
_STOPWORDS = frozenset(
    "the and for with from this that are was you your our its all any can has have not but "
    "one two use used using into out per set new also more than very will may each other "
    "such these those their there what when which who how about inch inches pack".split()
)


class IdMap:
    """A stable mapping between external ids (strings) and matrix row indices."""

    def __init__(self, ids: Iterable[str] = ()):
        self.ids: list[str] = []
        self._index: dict[str, int] = {}
        for value in ids:
            self.add(value)

    def add(self, value: str) -> int:
        value = str(value)
        index = self._index.get(value)
        if index is None:
            index = len(self.ids)
            self._index[value] = index
            self.ids.append(value)
        return index

    def get(self, value: str, default: int = -1) -> int:
        return self._index.get(str(value), default)

    def __contains__(self, value: object) -> bool:
        return str(value) in self._index

    def __len__(self) -> int:
        return len(self.ids)

    def encode(self, values: Iterable[str]) -> np.ndarray:
        """Indices for ``values``; -1 where a value is unknown."""
        get = self._index.get
        return np.fromiter((get(str(v), -1) for v in values), dtype=np.int64)


# ---------------------------------------------------------------- interactions


@dataclass
class InteractionConfig:
    """How events become interaction weights (tunable per merchant)."""

    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    half_life_days: float | None = 90.0
    log_compress: bool = True

    @classmethod
    def from_dict(cls, data: Mapping | None) -> InteractionConfig:
        data = dict(data or {})
        weights = dict(DEFAULT_EVENT_WEIGHTS)
        weights.update({k: float(v) for k, v in (data.get("event_weights") or {}).items()})
        half_life = data.get("half_life_days", 90.0)
        return cls(
            event_weights=weights,
            half_life_days=None if half_life in (None, 0) else float(half_life),
            log_compress=bool(data.get("log_compress", True)),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def event_type_weights(types: Sequence[str], config: InteractionConfig) -> np.ndarray:
    """Base weight of each event from its type (unknown types weigh 0)."""
    weights = config.event_weights
    return np.fromiter((weights.get(t, 0.0) for t in types), dtype=np.float64, count=len(types))


def interaction_matrices(
    user_index: np.ndarray,
    item_index: np.ndarray,
    timestamps: np.ndarray | None,
    base_weights: np.ndarray | None,
    shape: tuple[int, int],
    config: InteractionConfig,
    now: float | None = None,
) -> tuple[sp.coo_matrix, sp.coo_matrix]:
    """Aggregate events into LightFM's ``(interactions, sample_weight)`` pair.

    ``interactions`` holds 1.0 for every (user, item) pair with a positive total weight and
    ``sample_weight`` the pair's weight, with identical row/col order as LightFM requires.
    Rows with a negative index (unknown user or item) or zero weight are dropped.
    """
    user_index = np.asarray(user_index, dtype=np.int64)
    item_index = np.asarray(item_index, dtype=np.int64)
    n = len(user_index)
    weights = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype=np.float64)
    if timestamps is not None and config.half_life_days and n:
        ts = np.asarray(timestamps, dtype=np.float64)
        reference = float(ts.max()) if now is None else float(now)
        age_days = np.clip(reference - ts, 0.0, None) / SECONDS_PER_DAY
        weights = weights * np.power(0.5, age_days / config.half_life_days)
    keep = (user_index >= 0) & (item_index >= 0) & (weights > 0)
    summed = sp.coo_matrix(
        (weights[keep], (user_index[keep], item_index[keep])), shape=shape, dtype=np.float64
    ).tocsr()
    summed.sum_duplicates()
    summed.eliminate_zeros()
    summed = summed.tocoo()
    data = summed.data
    if config.log_compress:
        data = np.log1p(data)
    if len(data):
        data = data / data.mean()
    positives = sp.coo_matrix(
        (np.ones(len(data), dtype=np.float32), (summed.row, summed.col)), shape=shape
    )
    sample_weight = sp.coo_matrix((data.astype(np.float32), (summed.row, summed.col)), shape=shape)
    return positives, sample_weight


# ---------------------------------------------------------------- feature spaces


def _tokens(text: str, limit: int) -> list[str]:
    words = _WORD_RE.findall(text.lower())
    return [w for w in words[:limit] if w not in _STOPWORDS and not w.isdigit()]


def _multi(value) -> list[str]:
    """A categorical value that may hold several values (list or ``"a|b"``)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        values = value
    else:
        values = str(value).split("|")
    return [str(v).strip().lower() for v in values if str(v).strip()]


def category_prefixes(path: str) -> list[str]:
    """``"A > B > C"`` -> ``["a", "a > b", "a > b > c"]`` (each level shares with its parents)."""
    parts = [p.strip().lower() for p in str(path or "").split(">") if p.strip()]
    return [" > ".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass
class ItemFeatureConfig:
    """Total weight per feature group (0 switches a group off) and text vocabulary limits.

    The identity outweighs all metadata together (4.0 vs about 2.25 when every group is
    present): tuned on the shared evaluation data sets, where a product's own history predicts
    better than its metadata once it has some (docs/internals/recommender.md, evaluation). A product
    without history has no identity, so its metadata alone places it.
    """

    identity: float = 4.0
    category: float = 1.0
    brand: float = 0.5
    price: float = 0.25
    tags: float = 0.5
    attributes: float = 0.5
    extra: float = 0.5
    words: float = 0.5
    max_words: int = 3000
    min_df: int = 2
    max_df: float = 0.25
    max_tokens_per_item: int = 40
    price_bands: int = 8

    @classmethod
    def from_dict(cls, data: Mapping | None) -> ItemFeatureConfig:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in dict(data or {}).items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class UserFeatureConfig:
    """Total weight per visitor feature group. The identity dominates (3.0 vs at most 2.0 for
    the rest): a visitor's own history says more than their device or country, which matter
    most for visitors the model has not seen (tuned on MovieLens 100K, docs/internals/recommender.md)."""

    identity: float = 3.0
    country: float = 0.5
    device: float = 0.25
    segments: float = 0.5
    cohort: float = 0.25
    extra: float = 0.5

    @classmethod
    def from_dict(cls, data: Mapping | None) -> UserFeatureConfig:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in dict(data or {}).items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


_ITEM_RESERVED = {"item_id", "title", "description", "brand", "category", "price", "tags"}
_ITEM_RESERVED |= {"attributes", "copy", "sku", "currency", "image_url", "stock", "status"}
_USER_RESERVED = {"user_id", "country", "device", "segments", "first_seen"}


class FeatureSpace:
    """Columns of a feature matrix: named features, then identity columns (one per id).

    Identity columns come last so that new ids (an incremental update) append columns
    without moving the learned named-feature embeddings.

    ``fit`` learns the vocabulary (named features, price band edges) from a catalog or user
    list; ``transform`` turns records into a row-normalised CSR matrix aligned with an IdMap.
    The fitted state is JSON-serialisable (``to_dict``/``from_dict``) so it travels inside
    the model artifact and serving can embed a product created after training.
    """

    kind = ""

    def __init__(self, names: list[str] | None = None, n_ids: int = 0, use_identity=True):
        self.names: list[str] = list(names or [])
        self.index = {name: i for i, name in enumerate(self.names)}
        self.n_ids = n_ids
        self.use_identity = use_identity

    @property
    def n_columns(self) -> int:
        return len(self.names) + (self.n_ids if self.use_identity else 0)

    def column_name(self, column: int) -> str:
        return self.names[column] if column < len(self.names) else "id"

    def record_features(self, record: Mapping) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def _identity_weight(self) -> float:  # pragma: no cover
        raise NotImplementedError

    def _group_weights(self) -> dict[str, float]:  # pragma: no cover
        """Total weight of each named feature group, in a fixed order."""
        raise NotImplementedError

    def record_groups(self, record: Mapping) -> dict[str, list[str]]:  # pragma: no cover
        """Feature names of one record per group (before vocabulary filtering)."""
        raise NotImplementedError

    def transform(
        self,
        records: Sequence[Mapping],
        id_map: IdMap,
        identity_mask: np.ndarray | None = None,
        n_rows: int | None = None,
    ) -> sp.csr_matrix:
        """Row i = features of the id ``id_map.ids[i]`` (records matched by id).

        ``identity_mask[i]`` says whether id i gets its identity column (warm ids); ids with
        no record get only their identity column (or an empty row when cold).
        """
        n_rows = len(id_map) if n_rows is None else n_rows
        offset = len(self.names)
        id_key = "item_id" if self.kind == "item" else "user_id"
        # One Python pass turns names into column numbers; the weights (each group's total
        # shared among its distinct active features) are computed on the arrays.
        group_names = list(self._group_weights())
        group_weight = np.asarray(list(self._group_weights().values()), dtype=np.float64)
        group_of = {g: i for i, g in enumerate(group_names)}
        index_get = self.index.get
        row_list: list[int] = []
        group_list: list[int] = []
        col_list: list[int] = []
        for record in records:
            row = id_map.get(record.get(id_key))
            if row < 0 or row >= n_rows:
                continue
            for group, names in self.record_groups(record).items():
                g = group_of[group]
                for name in names:
                    col = index_get(name)
                    if col is not None:
                        row_list.append(row)
                        group_list.append(g)
                        col_list.append(col)
        rows = np.asarray(row_list, dtype=np.int64)
        groups = np.asarray(group_list, dtype=np.int64)
        cols = np.asarray(col_list, dtype=np.int64)
        n_groups = max(len(group_names), 1)
        if len(rows):
            # A name listed twice in one group of one record counts once.
            key = (rows * n_groups + groups) * max(offset, 1) + cols
            _, first = np.unique(key, return_index=True)
            rows, groups, cols = rows[first], groups[first], cols[first]
            keep = group_weight[groups] > 0
            rows, groups, cols = rows[keep], groups[keep], cols[keep]
            slot = rows * n_groups + groups
            per_slot = np.bincount(slot, minlength=n_rows * n_groups)
            vals = group_weight[groups] / per_slot[slot]
        else:
            vals = np.zeros(0)
        rows, cols, vals = [rows], [cols], [vals]
        if self.use_identity and self.n_ids:
            identity_weight = self._identity_weight()
            ids = np.arange(min(n_rows, self.n_ids))
            if identity_mask is not None:
                ids = ids[np.asarray(identity_mask[: len(ids)], dtype=bool)]
            if identity_weight > 0:
                rows.append(ids)
                cols.append(ids + offset)
                vals.append(np.full(len(ids), identity_weight))
        matrix = sp.csr_matrix(
            (
                np.concatenate(vals).astype(np.float32),
                (np.concatenate(rows), np.concatenate(cols)),
            ),
            shape=(n_rows, self.n_columns),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        return normalize_rows(matrix)

    def vector(self, record: Mapping) -> sp.csr_matrix:
        """A one-row matrix of named features only (a cold id: no identity column)."""
        cols, vals = [], []
        for name, weight in self.record_features(record).items():
            col = self.index.get(name)
            if col is not None and weight > 0:
                cols.append(col)
                vals.append(weight)
        matrix = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), ([0] * len(cols), cols)),
            shape=(1, self.n_columns),
        )
        return normalize_rows(matrix)


def normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """L1-normalise each row (empty rows stay empty)."""
    matrix = matrix.tocsr().astype(np.float32)
    sums = np.asarray(abs(matrix).sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.diags((1.0 / sums).astype(np.float32)) @ matrix


def _spread(out: dict[str, float], names: list[str], total: float) -> None:
    names = list(dict.fromkeys(names))
    if not names or total <= 0:
        return
    share = total / len(names)
    for name in names:
        out[name] = out.get(name, 0.0) + share


class ItemFeatureSpace(FeatureSpace):
    kind = "item"

    def __init__(
        self,
        config: ItemFeatureConfig | None = None,
        names: list[str] | None = None,
        n_ids: int = 0,
        price_edges: list[float] | None = None,
        vocabulary: list[str] | None = None,
        use_identity: bool = True,
    ):
        super().__init__(names, n_ids, use_identity)
        self.config = config or ItemFeatureConfig()
        self.price_edges = list(price_edges or [])
        self.vocabulary = set(vocabulary or [])

    def _identity_weight(self) -> float:
        return self.config.identity

    _GROUPS = ("category", "brand", "tags", "attributes", "extra", "words", "price")

    def _group_weights(self) -> dict[str, float]:
        return {g: float(getattr(self.config, g)) for g in self._GROUPS}

    def record_groups(self, record: Mapping) -> dict[str, list[str]]:
        memo = getattr(self, "_raw_memo", None)
        groups = memo.get(id(record)) if memo else None
        groups = dict(groups or self._raw(record))
        groups["words"] = [n for n in groups["words"] if n in self.vocabulary]
        band = self._price_band(record.get("price"))
        groups["price"] = [band] if band else []
        return groups

    def _price_band(self, price) -> str | None:
        try:
            value = float(price)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value) or value <= 0 or not self.price_edges:
            return None
        return f"price:{int(np.searchsorted(self.price_edges, math.log(value)))}"

    def _raw(self, record: Mapping) -> dict[str, list[str]]:
        """Feature names per group, before vocabulary filtering and weighting."""
        groups: dict[str, list[str]] = {}
        groups["category"] = [f"cat:{p}" for p in category_prefixes(record.get("category"))]
        groups["brand"] = [f"brand:{b}" for b in _multi(record.get("brand"))]
        groups["tags"] = [f"tag:{t}" for t in _multi(record.get("tags"))]
        attributes = record.get("attributes") or {}
        groups["attributes"] = [
            f"attr:{str(k).strip().lower()}={str(v).strip().lower()}"
            for k, v in attributes.items()
            if str(v).strip()
        ]
        extra = []
        for key, value in record.items():
            if key not in _ITEM_RESERVED:
                extra.extend(f"{key}:{v}" for v in _multi(value))
        groups["extra"] = extra
        text = " ".join(str(record.get(k) or "") for k in ("title", "description", "copy"))
        groups["words"] = [f"w:{t}" for t in _tokens(text, self.config.max_tokens_per_item)]
        return groups

    def fit(self, records: Sequence[Mapping], n_ids: int) -> ItemFeatureSpace:
        cfg = self.config
        self.n_ids = n_ids
        prices = []
        for record in records:
            try:
                value = float(record.get("price") or 0)
            except (TypeError, ValueError):
                value = 0.0
            if value > 0 and math.isfinite(value):
                prices.append(math.log(value))
        if prices and cfg.price > 0 and cfg.price_bands > 1:
            qs = np.linspace(0, 1, cfg.price_bands + 1)[1:-1]
            self.price_edges = sorted(set(np.quantile(prices, qs).round(6).tolist()))
        counts: Counter[str] = Counter()
        word_df: Counter[str] = Counter()
        # Parsing text is the slow part: keep each record's groups for the transform that
        # follows (keyed by object id; records stay alive while the caller trains).
        self._raw_memo = {}
        for record in records:
            groups = self._raw_memo[id(record)] = self._raw(record)
            for group, names in groups.items():
                if group == "words":
                    word_df.update(set(names))
                elif getattr(cfg, group) > 0:
                    counts.update(set(names))
        # Categorical features seen on one product only carry no shared signal; keep them
        # anyway when small catalogs would otherwise lose them (min count 1).
        names = sorted(counts)
        if cfg.words > 0 and word_df:
            limit = max(cfg.min_df, int(cfg.max_df * len(records)))
            eligible = [(c, w) for w, c in word_df.items() if cfg.min_df <= c <= limit]
            eligible.sort(key=lambda cw: (-cw[0], cw[1]))
            self.vocabulary = {w for _, w in eligible[: cfg.max_words]}
            names += sorted(self.vocabulary)
        if self.price_edges:
            names += [f"price:{i}" for i in range(len(self.price_edges) + 1)]
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        return self

    def record_features(self, record: Mapping) -> dict[str, float]:
        cfg = self.config
        out: dict[str, float] = {}
        memo = getattr(self, "_raw_memo", None)
        groups = memo.get(id(record)) if memo else None
        for group, names in (groups or self._raw(record)).items():
            if group == "words":
                names = [n for n in names if n in self.vocabulary]
            _spread(out, [n for n in names if n in self.index], getattr(cfg, group))
        band = self._price_band(record.get("price"))
        if band and band in self.index:
            _spread(out, [band], cfg.price)
        return out

    def to_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "names": self.names,
            "n_ids": self.n_ids,
            "price_edges": self.price_edges,
            "vocabulary": sorted(self.vocabulary),
            "use_identity": self.use_identity,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ItemFeatureSpace:
        return cls(
            config=ItemFeatureConfig.from_dict(data.get("config")),
            names=data.get("names"),
            n_ids=int(data.get("n_ids", 0)),
            price_edges=data.get("price_edges"),
            vocabulary=data.get("vocabulary"),
            use_identity=bool(data.get("use_identity", True)),
        )


def _cohort(first_seen) -> str | None:
    try:
        value = float(first_seen)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    days = int(value // SECONDS_PER_DAY)
    # Month index since 1970 (30.44-day months): cheap, timezone-free, good enough for a cohort.
    return f"cohort:{int(days // 30.44)}"


class UserFeatureSpace(FeatureSpace):
    kind = "user"

    def __init__(
        self,
        config: UserFeatureConfig | None = None,
        names: list[str] | None = None,
        n_ids: int = 0,
        use_identity: bool = True,
    ):
        super().__init__(names, n_ids, use_identity)
        self.config = config or UserFeatureConfig()

    def _identity_weight(self) -> float:
        return self.config.identity

    _GROUPS = ("country", "device", "segments", "cohort", "extra")

    def _group_weights(self) -> dict[str, float]:
        return {g: float(getattr(self.config, g)) for g in self._GROUPS}

    def record_groups(self, record: Mapping) -> dict[str, list[str]]:
        # Many visitors share the same device, country and cohort: parse each combination once.
        key = tuple(
            (k, str(v) if k != "first_seen" else _cohort(v))
            for k, v in record.items()
            if k != "user_id"
        )
        cache = self.__dict__.setdefault("_groups_cache", {})
        groups = cache.get(key)
        if groups is None:
            groups = self._raw(record)
            if len(cache) < 200_000:
                cache[key] = groups
        return groups

    def _raw(self, record: Mapping) -> dict[str, list[str]]:
        groups = {
            "country": [f"country:{v}" for v in _multi(record.get("country"))],
            "device": [f"device:{v}" for v in _multi(record.get("device"))],
            "segments": [f"segment:{v}" for v in _multi(record.get("segments"))],
            "cohort": [c for c in [_cohort(record.get("first_seen"))] if c],
        }
        extra = []
        for key, value in record.items():
            if key not in _USER_RESERVED:
                extra.extend(f"{key}:{v}" for v in _multi(value))
        groups["extra"] = extra
        return groups

    def fit(self, records: Sequence[Mapping], n_ids: int) -> UserFeatureSpace:
        self.n_ids = n_ids
        self._features_cache = {}
        found: set[str] = set()
        # Visitors share parsed groups (record_groups): read each once. The dict keeps them
        # alive, so an id is never reused by another object during the loop.
        done: dict[int, dict] = {}
        for record in records:
            groups = self.record_groups(record)
            if id(groups) in done:
                continue
            done[id(groups)] = groups
            for group, names in groups.items():
                if getattr(self.config, group) > 0:
                    found.update(names)
        self.names = sorted(found)
        self.index = {name: i for i, name in enumerate(self.names)}
        return self

    def record_features(self, record: Mapping) -> dict[str, float]:
        # Many visitors share the same device, country and cohort: compute each combination once.
        key = tuple(
            (k, str(v) if k != "first_seen" else _cohort(v))
            for k, v in record.items()
            if k != "user_id"
        )
        cache = self.__dict__.setdefault("_features_cache", {})
        out = cache.get(key)
        if out is None:
            out = {}
            for group, names in self._raw(record).items():
                _spread(out, [n for n in names if n in self.index], getattr(self.config, group))
            if len(cache) < 200_000:
                cache[key] = out
        return out

    def to_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "names": self.names,
            "n_ids": self.n_ids,
            "use_identity": self.use_identity,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> UserFeatureSpace:
        return cls(
            config=UserFeatureConfig.from_dict(data.get("config")),
            names=data.get("names"),
            n_ids=int(data.get("n_ids", 0)),
            use_identity=bool(data.get("use_identity", True)),
        )
