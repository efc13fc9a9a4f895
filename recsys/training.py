"""Training the LightFM hybrid recommender and the model artifact (pure: no Django).

``train(data, config, progress)`` fits LightFM (WARP loss by default: Weston, Bengio and
Usunier 2011, "WSABIE: Scaling Up To Large Vocabulary Image Annotation"; hybrid feature
embeddings: Kula 2015, arXiv:1507.08439) epoch by epoch with ``fit_partial`` so it can report
progress, and returns a :class:`RecommenderArtifact`.

``update(artifact, data, config, progress)`` continues training from a stored artifact on
new events only (LightFM ``fit_partial``): new visitors and new products get fresh identity
columns appended to the feature matrices and freshly initialised embeddings, everything
already learned stays.

The artifact is what serving and the registry use:

* ``item_ids`` / ``user_ids`` (lists of external ids) with ``item_index`` / ``user_index``
  dicts;
* ``item_vectors`` (n_items, d) and ``item_biases`` (n_items,): LightFM
  ``get_item_representations`` precomputed over the whole catalog (cold products included,
  embedded from their metadata); same for ``user_vectors`` / ``user_biases``;
* ``item_popularity`` (weighted interaction count per item in the training window);
* ``score(user_vector, user_bias=0)`` -> scores for all items (higher is better);
* ``user_representation(user_id=None, user_record=None, session_item_ids=())`` -> vector
  for a known visitor, or for a new one from their features and the items of their session;
* ``item_representation(record)`` -> (bias, vector) for a product created after training;
* ``similar_items(item_id, n)``;
* ``to_bytes()`` / ``RecommenderArtifact.from_bytes(data)``: one ``.npz`` holding every
  array plus a JSON header (configs, id maps, feature spaces, metadata), so it can be saved
  with Django's storage API.

The same ``train`` is used by the Celery job (``recsys.services.recommender_train``) and by
the ``merchlab`` configuration of the evaluation command.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from recsys.cooccurrence import BoughtTogether, BoughtTogetherConfig, train_bought_together
from recsys.features import (
    IdMap,
    InteractionConfig,
    ItemFeatureConfig,
    ItemFeatureSpace,
    UserFeatureConfig,
    UserFeatureSpace,
    event_type_weights,
    interaction_matrices,
)
from recsys.sequence import NextItems, SequenceConfig

Progress = Callable[[float, str], None]

ARTIFACT_FORMAT = 1
# Component models an artifact may carry, by name (see RecommenderArtifact.components).
COMPONENTS = {BoughtTogether.name: BoughtTogether, NextItems.name: NextItems}


class NotEnoughData(ValueError):
    """Raised when the data cannot train a model; the message says what is missing."""


@dataclass
class TrainingConfig:
    """Everything that defines a trained model. ``merchlab`` = the defaults."""

    no_components: int = 64
    loss: str = "warp"
    learning_rate: float = 0.05
    item_alpha: float = 0.0
    user_alpha: float = 0.0
    max_sampled: int = 30
    epochs: int = 20
    update_epochs: int = 3
    num_threads: int = 2
    random_state: int = 42
    use_item_features: bool = True
    use_user_features: bool = True
    interactions: InteractionConfig = field(default_factory=InteractionConfig)
    items: ItemFeatureConfig = field(default_factory=ItemFeatureConfig)
    users: UserFeatureConfig = field(default_factory=UserFeatureConfig)
    # The models trained alongside the hybrid and stored in its artifact.
    components: tuple[str, ...] = ("bought_together", "next_items")
    bought_together: BoughtTogetherConfig = field(default_factory=BoughtTogetherConfig)
    next_items: SequenceConfig = field(default_factory=SequenceConfig)
    # Wall-clock budget for the epochs of a full training: stop before an epoch that would
    # overrun it (None = always run every epoch). Keeps the nightly job bounded on big shops.
    max_seconds: float | None = 150.0
    # The training job's hold-out check (recsys.services.holdout_evaluation) trains a second
    # model on 80% of the events: it gets a smaller budget so the whole job stays bounded.
    holdout_max_seconds: float | None = 45.0
    min_interactions: int = 10
    min_users: int = 2
    min_items: int = 2

    @classmethod
    def from_dict(cls, data: Mapping | None) -> TrainingConfig:
        data = dict(data or {})
        nested = ("interactions", "items", "users", "bought_together", "next_items")
        known = {k for k in cls.__dataclass_fields__ if k not in nested}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.components = tuple(config.components)
        unknown = set(config.components) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown component models: {', '.join(sorted(unknown))}")
        config.bought_together = BoughtTogetherConfig.from_dict(data.get("bought_together"))
        config.next_items = SequenceConfig.from_dict(data.get("next_items"))
        config.interactions = InteractionConfig.from_dict(data.get("interactions"))
        config.items = ItemFeatureConfig.from_dict(data.get("items"))
        config.users = UserFeatureConfig.from_dict(data.get("users"))
        return config

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def collaborative_only(cls, **overrides) -> TrainingConfig:
        """LightFM on ids only (the ``lightfm_cf`` baseline): no features, unit weights."""
        config = cls(use_item_features=False, use_user_features=False, **overrides)
        config.interactions = InteractionConfig(half_life_days=None, log_compress=False)
        config.interactions.event_weights = {k: 1.0 for k in config.interactions.event_weights}
        return config


@dataclass
class TrainingData:
    """Events plus catalog: one entry per event in the parallel sequences.

    ``weights`` is an optional base weight per event (multiplied with the type weight when
    ``event_types`` is given, used alone otherwise). ``timestamps`` are unix seconds.
    ``now`` is the reference time for recency decay (defaults to the newest event).
    """

    user_ids: Sequence[str]
    item_ids: Sequence[str]
    timestamps: np.ndarray | None = None
    event_types: Sequence[str] | None = None
    weights: np.ndarray | None = None
    items: Sequence[Mapping] = ()
    users: Sequence[Mapping] = ()
    now: float | None = None

    def __len__(self) -> int:
        return len(self.user_ids)

    def base_weights(self, config: InteractionConfig) -> np.ndarray | None:
        weights = None if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        if self.event_types is not None:
            by_type = event_type_weights(self.event_types, config)
            weights = by_type if weights is None else weights * by_type
        return weights


def _noop(fraction: float, message: str) -> None:
    return None


def _lightfm(config: TrainingConfig):
    from lightfm import LightFM

    return LightFM(
        no_components=config.no_components,
        loss=config.loss,
        learning_rate=config.learning_rate,
        item_alpha=config.item_alpha,
        user_alpha=config.user_alpha,
        max_sampled=config.max_sampled,
        random_state=np.random.RandomState(config.random_state),
    )


_STATE = (
    "item_embeddings",
    "item_embedding_gradients",
    "item_embedding_momentum",
    "item_biases",
    "item_bias_gradients",
    "item_bias_momentum",
    "user_embeddings",
    "user_embedding_gradients",
    "user_embedding_momentum",
    "user_biases",
    "user_bias_gradients",
    "user_bias_momentum",
)


class RecommenderArtifact:
    """A trained model: representations for serving plus the state to continue training."""

    def __init__(
        self,
        *,
        config: TrainingConfig,
        user_ids: list[str],
        item_ids: list[str],
        user_space: UserFeatureSpace,
        item_space: ItemFeatureSpace,
        user_features: sp.csr_matrix,
        item_features: sp.csr_matrix,
        state: dict[str, np.ndarray],
        item_popularity: np.ndarray,
        meta: dict | None = None,
        components: dict | None = None,
    ):
        self.config = config
        # Models trained alongside the hybrid (``COMPONENTS``: bought together, next items),
        # stored in the same file so that one registry version holds everything it serves.
        self.components = dict(components or {})
        self.user_ids = list(user_ids)
        self.item_ids = list(item_ids)
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {v: i for i, v in enumerate(self.item_ids)}
        self.user_space = user_space
        self.item_space = item_space
        self.user_features = user_features.tocsr().astype(np.float32)
        self.item_features = item_features.tocsr().astype(np.float32)
        self.state = state
        self.item_popularity = np.asarray(item_popularity, dtype=np.float32)
        self.meta = dict(meta or {})
        self._compute_representations()

    # -- representations -------------------------------------------------------------

    def _compute_representations(self) -> None:
        # Same arithmetic as LightFM get_item_representations / get_user_representations.
        s = self.state
        self.item_vectors = np.ascontiguousarray(
            self.item_features @ s["item_embeddings"], dtype=np.float32
        )
        self.item_biases = np.asarray(self.item_features @ s["item_biases"], dtype=np.float32)
        self.user_vectors = np.ascontiguousarray(
            self.user_features @ s["user_embeddings"], dtype=np.float32
        )
        self.user_biases = np.asarray(self.user_features @ s["user_biases"], dtype=np.float32)
        norms = np.linalg.norm(self.item_vectors, axis=1)
        norms[norms == 0] = 1.0
        self._unit_items = self.item_vectors / norms[:, None]

    @property
    def no_components(self) -> int:
        return int(self.state["item_embeddings"].shape[1])

    def score(self, user_vector: np.ndarray, user_bias: float = 0.0) -> np.ndarray:
        """Scores of every item (``item_ids`` order) for one user representation."""
        return self.item_vectors @ np.asarray(user_vector, dtype=np.float32) + (
            self.item_biases + np.float32(user_bias)
        )

    def score_users(self, user_rows: np.ndarray) -> np.ndarray:
        """Scores (len(user_rows), n_items) for known users by row index."""
        rows = np.asarray(user_rows, dtype=np.int64)
        return (
            self.user_vectors[rows] @ self.item_vectors.T
            + self.item_biases[None, :]
            + self.user_biases[rows, None]
        )

    def user_representation(
        self,
        user_id: str | None = None,
        user_record: Mapping | None = None,
        session_item_ids: Sequence[str] = (),
    ) -> tuple[np.ndarray, float, str]:
        """(vector, bias, how) for a visitor.

        ``how`` is ``"profile"`` for a visitor the model learned, ``"session"`` when the
        vector comes from the items viewed in this session (plus features), ``"features"``
        when only the visitor's features were known, ``"none"`` for a zero vector (then the
        scores are the item biases: a learned popularity).
        """
        if user_id is not None and str(user_id) in self.user_index:
            row = self.user_index[str(user_id)]
            return self.user_vectors[row], float(self.user_biases[row]), "profile"
        vector = np.zeros(self.no_components, dtype=np.float32)
        bias = 0.0
        how = "none"
        if user_record:
            features = self.user_space.vector(user_record)
            if features.nnz:
                vector = np.asarray(features @ self.state["user_embeddings"]).ravel()
                bias = float((features @ self.state["user_biases"])[0])
                how = "features"
        rows = [self.item_index[s] for s in session_item_ids if s in self.item_index]
        if rows:
            # Items viewed in the session stand in for the visitor's taste: their mean
            # representation points where a learned profile of such a visitor would point.
            session = self.item_vectors[rows].mean(axis=0)
            vector = session if how == "none" else 0.5 * (vector + session)
            how = "session"
        return vector.astype(np.float32), bias, how

    def item_representation(self, record: Mapping) -> tuple[float, np.ndarray]:
        """(bias, vector) of a product from its metadata alone (created after training)."""
        features = self.item_space.vector(record)
        vector = np.asarray(features @ self.state["item_embeddings"]).ravel()
        bias = float((features @ self.state["item_biases"])[0]) if features.nnz else 0.0
        return bias, vector.astype(np.float32)

    def similar_items(self, item_id: str, n: int = 10) -> list[tuple[str, float]]:
        """Most similar items by cosine of their representations (the item itself excluded)."""
        row = self.item_index.get(str(item_id))
        if row is None:
            return []
        sims = self._unit_items @ self._unit_items[row]
        sims[row] = -np.inf
        n = min(n, len(sims) - 1)
        if n <= 0:
            return []
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top])]
        return [(self.item_ids[i], float(sims[i])) for i in top]

    # -- continue training -------------------------------------------------------------

    def to_lightfm(self):
        model = _lightfm(self.config)
        for name in _STATE:
            setattr(model, name, self.state[name].copy())
        return model

    # -- persistence -------------------------------------------------------------------

    def header(self) -> dict:
        return {
            "format": ARTIFACT_FORMAT,
            "config": self.config.to_dict(),
            "user_ids": self.user_ids,
            "item_ids": self.item_ids,
            "user_space": self.user_space.to_dict(),
            "item_space": self.item_space.to_dict(),
            "meta": self.meta,
        }

    def _component_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        headers, arrays = {}, {}
        for name, component in self.components.items():
            header, parts = component.to_arrays()
            headers[name] = header
            for key, value in parts.items():
                arrays[f"component__{name}__{key}"] = value
        return headers, arrays

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        for name in _STATE:
            value = self.state[name]
            if name.endswith("_momentum") and not value.any():
                continue  # adagrad never uses momentum: all zeros, rebuilt on load
            arrays[f"state_{name}"] = value
        for prefix, matrix in (("uf", self.user_features), ("if", self.item_features)):
            arrays[f"{prefix}_data"] = matrix.data
            arrays[f"{prefix}_indices"] = matrix.indices
            arrays[f"{prefix}_indptr"] = matrix.indptr
            arrays[f"{prefix}_shape"] = np.asarray(matrix.shape, dtype=np.int64)
        arrays["item_popularity"] = self.item_popularity
        head = self.header()
        head["components"], component_arrays = self._component_arrays()
        arrays.update(component_arrays)
        header = json.dumps(head).encode("utf-8")
        arrays["header_json"] = np.frombuffer(header, dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RecommenderArtifact:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header_json"].tobytes().decode("utf-8"))
            if header.get("format") != ARTIFACT_FORMAT:
                raise ValueError(f"unsupported artifact format {header.get('format')!r}")
            state = {}
            for name in _STATE:
                key = f"state_{name}"
                if key in npz.files:
                    state[name] = npz[key]
            for name in _STATE:
                if name not in state:
                    # e.g. item_embedding_momentum -> item_embeddings, item_bias_momentum -> item_biases
                    base = name.replace("_embedding_momentum", "_embeddings").replace(
                        "_bias_momentum", "_biases"
                    )
                    state[name] = np.zeros_like(state[base])
            matrices = {}
            for prefix in ("uf", "if"):
                matrices[prefix] = sp.csr_matrix(
                    (npz[f"{prefix}_data"], npz[f"{prefix}_indices"], npz[f"{prefix}_indptr"]),
                    shape=tuple(npz[f"{prefix}_shape"]),
                )
            popularity = npz["item_popularity"]
            components = {}
            for name, component_header in (header.get("components") or {}).items():
                kind = COMPONENTS.get(name)
                if kind is None:
                    continue  # written by a newer release: serve without it
                prefix = f"component__{name}__"
                parts = {k[len(prefix) :]: npz[k] for k in npz.files if k.startswith(prefix)}
                components[name] = kind.from_arrays(component_header, parts)
        return cls(
            config=TrainingConfig.from_dict(header["config"]),
            user_ids=header["user_ids"],
            item_ids=header["item_ids"],
            user_space=UserFeatureSpace.from_dict(header["user_space"]),
            item_space=ItemFeatureSpace.from_dict(header["item_space"]),
            user_features=matrices["uf"],
            item_features=matrices["if"],
            state=state,
            item_popularity=popularity,
            meta=header.get("meta"),
            components=components,
        )


def _check_enough(config: TrainingConfig, n_events: int, n_users: int, n_items: int) -> None:
    missing = []
    if n_events < config.min_interactions:
        missing.append(
            f"{n_events} usable interactions (views, clicks, carts or purchases of known "
            f"products), need at least {config.min_interactions}"
        )
    if n_users < config.min_users:
        missing.append(f"{n_users} visitors with interactions, need at least {config.min_users}")
    if n_items < config.min_items:
        missing.append(f"{n_items} products with interactions, need at least {config.min_items}")
    if missing:
        raise NotEnoughData("Not enough data to train: " + "; ".join(missing) + ".")


def _fit_epochs(
    model, interactions, sample_weight, uf, itf, epochs, config, progress, start, span,
    budget_from: float | None = None,
) -> int:  # fmt: skip
    """Run up to ``epochs`` epochs; returns how many ran (the time budget may stop early)."""
    last = 0.0
    for epoch in range(epochs):
        if budget_from is not None and config.max_seconds and epoch > 0:
            elapsed = time.perf_counter() - budget_from
            if elapsed + last > config.max_seconds:
                progress(start + span, f"stopped after {epoch} epochs (time budget)")
                return epoch
        began = time.perf_counter()
        model.fit_partial(
            interactions,
            user_features=uf,
            item_features=itf,
            sample_weight=sample_weight,
            epochs=1,
            num_threads=config.num_threads,
        )
        last = time.perf_counter() - began
        progress(start + span * (epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs}")
    return epochs


def train(
    data: TrainingData, config: TrainingConfig | None = None, progress: Progress | None = None
) -> RecommenderArtifact:
    """Full training: id maps, features, weighted interactions, LightFM epochs, artifact."""
    config = config or TrainingConfig()
    progress = progress or _noop
    started = time.perf_counter()
    progress(0.0, "building features")

    item_map = IdMap(str(r["item_id"]) for r in data.items) if config.use_item_features else IdMap()
    item_codes = _encode_growing(item_map, data.item_ids)
    user_map = IdMap()
    user_codes = _encode_growing(user_map, data.user_ids)
    shape = (len(user_map), len(item_map))
    positives, sample_weight = interaction_matrices(
        user_codes,
        item_codes,
        data.timestamps,
        data.base_weights(config.interactions),
        shape,
        config.interactions,
        now=data.now,
    )
    n_users_active = int(np.unique(positives.row).size)
    n_items_active = int(np.unique(positives.col).size)
    _check_enough(config, positives.nnz, n_users_active, n_items_active)

    item_warm = np.zeros(len(item_map), dtype=bool)
    item_warm[positives.col] = True
    popularity = np.bincount(positives.col, weights=sample_weight.data, minlength=len(item_map))

    item_space = ItemFeatureSpace(config.items)
    if config.use_item_features:
        item_space.fit(data.items, n_ids=len(item_map))
    else:
        item_space.n_ids = len(item_map)
    item_features = item_space.transform(data.items, item_map, identity_mask=item_warm)
    item_space._raw_memo = {}

    user_space = UserFeatureSpace(config.users)
    if config.use_user_features:
        user_space.fit(data.users, n_ids=len(user_map))
    else:
        user_space.n_ids = len(user_map)
    user_features = user_space.transform(data.users, user_map)

    progress(0.05, f"training on {positives.nnz} interactions")
    model = _lightfm(config)
    epochs_run = _fit_epochs(
        model, positives, sample_weight, user_features, item_features,
        config.epochs, config, progress, 0.05, 0.9, budget_from=started,
    )  # fmt: skip
    state = {name: getattr(model, name) for name in _STATE}
    artifact = RecommenderArtifact(
        config=config,
        user_ids=user_map.ids,
        item_ids=item_map.ids,
        user_space=user_space,
        item_space=item_space,
        user_features=user_features,
        item_features=item_features,
        state=state,
        item_popularity=popularity,
        meta={
            "interactions": int(positives.nnz),
            "events": len(data),
            "users": len(user_map),
            "items": len(item_map),
            "warm_items": int(item_warm.sum()),
            "item_features": len(item_space.names),
            "user_features": len(user_space.names),
            "epochs_run": epochs_run,
            "training_seconds": round(time.perf_counter() - started, 3),
            "trained_until": float(np.max(data.timestamps))
            if data.timestamps is not None and len(data)
            else None,
        },
    )
    progress(1.0, "trained")
    return artifact


def train_components(
    data: TrainingData, config: TrainingConfig | None = None, progress: Progress | None = None
) -> tuple[dict, dict]:
    """(components by name, report by name) for ``config.components``.

    Each report holds the component's counts and training seconds, and ``skipped`` with the
    reason when the data could not teach it anything (e.g. a shop without purchases has no
    products bought together); an empty component is still returned, and serving defers.
    """
    config = config or TrainingConfig()
    progress = progress or _noop
    components: dict = {}
    report: dict = {}
    for n, name in enumerate(config.components):
        progress(n / max(len(config.components), 1), f"training {name}")
        began = time.perf_counter()
        if name == BoughtTogether.name:
            model = train_bought_together(
                data.user_ids,
                data.item_ids,
                data.timestamps,
                data.event_types,
                config.bought_together,
                now=data.now,
            )
        elif name == NextItems.name:
            from recsys.sequence_training import (
                train_next_items,  # torch stays out of the web process
            )

            model = train_next_items(
                data.user_ids,
                data.item_ids,
                data.timestamps,
                data.event_types,
                config.next_items,
            )
        else:  # pragma: no cover - from_dict refuses unknown names
            raise ValueError(f"unknown component {name!r}")
        components[name] = model
        report[name] = {**model.meta, "training_seconds": round(time.perf_counter() - began, 3)}
    progress(1.0, "components trained")
    return components, report


def _encode_growing(id_map: IdMap, values: Sequence[str]) -> np.ndarray:
    """Indices of ``values`` in ``id_map``, adding unknown ones in order of appearance."""
    values = [str(v) for v in values]
    for value in dict.fromkeys(values):  # unique, in order: one dict lookup per distinct id
        if value not in id_map:
            id_map.add(value)
    return np.fromiter(map(id_map._index.__getitem__, values), dtype=np.int64, count=len(values))


def _grow_rows(matrix: np.ndarray, extra: int, fill: float, rng=None, dim: int = 0) -> np.ndarray:
    if extra <= 0:
        return matrix
    if matrix.ndim == 2:
        if rng is not None:
            # LightFM's own initialisation: uniform in [-0.5, 0.5) / no_components.
            new = ((rng.rand(extra, dim) - 0.5) / dim).astype(np.float32)
        else:
            new = np.full((extra, matrix.shape[1]), fill, dtype=np.float32)
    else:
        new = np.full(extra, fill, dtype=np.float32)
    return np.concatenate([matrix, new]).astype(np.float32)


def _append_identity(
    features: sp.csr_matrix, space, n_new_ids: int, new_rows: sp.csr_matrix, switch_on
) -> sp.csr_matrix:
    """Grow a feature matrix by new identity columns and rows; switch identities on.

    ``switch_on`` lists rows that were cold (named features only, summing to 1) and now
    have interactions: they get their identity column with the configured weight, as a
    full training would give them, then the row is re-normalised.
    """
    from recsys.features import normalize_rows

    n_rows = features.shape[0]
    features = sp.hstack([features, sp.csr_matrix((n_rows, n_new_ids), dtype=np.float32)])
    features = sp.vstack([features, new_rows]).tocsr()
    weight = space._identity_weight()
    if weight > 0 and space.use_identity and len(switch_on):
        rows = np.asarray(switch_on, dtype=np.int64)
        identity = sp.csr_matrix(
            (np.full(len(rows), weight, dtype=np.float32), (rows, len(space.names) + rows)),
            shape=features.shape,
        )
        features = features + identity
    return normalize_rows(features)


def update(
    artifact: RecommenderArtifact,
    data: TrainingData,
    config: TrainingConfig | None = None,
    progress: Progress | None = None,
) -> RecommenderArtifact:
    """Incremental update: ``fit_partial`` on new events, from the artifact's state.

    New visitors and products are appended (identity columns and rows); products in
    ``data.items`` that the artifact does not know are added with their metadata features.
    """
    config = config or artifact.config
    progress = progress or _noop
    started = time.perf_counter()
    progress(0.0, "preparing update")
    item_map = IdMap(artifact.item_ids)
    user_map = IdMap(artifact.user_ids)
    known_items, known_users = len(item_map), len(user_map)
    new_item_records = [r for r in data.items if str(r["item_id"]) not in item_map]
    for record in new_item_records:
        item_map.add(str(record["item_id"]))
    item_codes = _encode_growing(item_map, data.item_ids)
    user_codes = _encode_growing(user_map, data.user_ids)
    shape = (len(user_map), len(item_map))
    positives, sample_weight = interaction_matrices(
        user_codes,
        item_codes,
        data.timestamps,
        data.base_weights(config.interactions),
        shape,
        config.interactions,
        now=data.now,
    )
    if positives.nnz == 0:
        raise NotEnoughData("Not enough data to update: no new usable interactions.")

    n_new_items = len(item_map) - known_items
    n_new_users = len(user_map) - known_users
    item_space = ItemFeatureSpace.from_dict(artifact.item_space.to_dict())
    user_space = UserFeatureSpace.from_dict(artifact.user_space.to_dict())
    previously_warm = np.zeros(len(item_map), dtype=bool)
    identity_block = artifact.item_features[:, len(item_space.names) :]
    previously_warm[np.unique(identity_block.nonzero()[0])] = True
    touched = np.unique(positives.col)
    switch_on = [int(i) for i in touched if i < known_items and not previously_warm[i]]

    # New rows: named features (from records) plus identity for those with interactions.
    item_space.n_ids = len(item_map)
    new_map = IdMap(item_map.ids[known_items:])
    warm_new = np.zeros(n_new_items, dtype=bool)
    warm_new[[i - known_items for i in touched if i >= known_items]] = True
    new_item_rows = _shift_identity(
        item_space.transform(new_item_records, new_map, warm_new),
        len(item_space.names),
        known_items,
        len(item_map),
    )
    item_features = _append_identity(
        artifact.item_features, item_space, n_new_items, new_item_rows, switch_on
    )
    user_space.n_ids = len(user_map)
    new_user_map = IdMap(user_map.ids[known_users:])
    new_user_rows = _shift_identity(
        user_space.transform(list(data.users), new_user_map),
        len(user_space.names),
        known_users,
        len(user_map),
    )
    user_features = _append_identity(
        artifact.user_features, user_space, n_new_users, new_user_rows, []
    )

    rng = np.random.RandomState(config.random_state + len(item_map) + len(user_map))
    d = artifact.no_components
    state = dict(artifact.state)
    for side, extra in (("item", n_new_items), ("user", n_new_users)):
        state[f"{side}_embeddings"] = _grow_rows(state[f"{side}_embeddings"], extra, 0, rng, d)
        # Adagrad accumulators start at 1 (LightFM _initialize), adadelta's at 0.
        grad_fill = 1.0 if getattr(config, "learning_schedule", "adagrad") == "adagrad" else 0.0
        state[f"{side}_embedding_gradients"] = _grow_rows(
            state[f"{side}_embedding_gradients"], extra, grad_fill
        )
        state[f"{side}_embedding_momentum"] = _grow_rows(
            state[f"{side}_embedding_momentum"], extra, 0.0
        )
        state[f"{side}_biases"] = _grow_rows(state[f"{side}_biases"], extra, 0.0)
        state[f"{side}_bias_gradients"] = _grow_rows(
            state[f"{side}_bias_gradients"], extra, grad_fill
        )
        state[f"{side}_bias_momentum"] = _grow_rows(state[f"{side}_bias_momentum"], extra, 0.0)

    model = _lightfm(config)
    for name in _STATE:
        setattr(model, name, np.ascontiguousarray(state[name], dtype=np.float32))
    progress(0.1, f"updating on {positives.nnz} interactions")
    _fit_epochs(
        model, positives, sample_weight, user_features, item_features,
        config.update_epochs, config, progress, 0.1, 0.85,
    )  # fmt: skip
    popularity = np.concatenate(
        [artifact.item_popularity, np.zeros(n_new_items, dtype=np.float32)]
    ) + np.bincount(positives.col, weights=sample_weight.data, minlength=len(item_map))
    meta = dict(artifact.meta)
    meta.update(
        {
            "updated_with": int(positives.nnz),
            "users": len(user_map),
            "items": len(item_map),
            "update_seconds": round(time.perf_counter() - started, 3),
        }
    )
    result = RecommenderArtifact(
        config=config,
        user_ids=user_map.ids,
        item_ids=item_map.ids,
        user_space=user_space,
        item_space=item_space,
        user_features=user_features,
        item_features=item_features,
        state={name: getattr(model, name) for name in _STATE},
        item_popularity=popularity,
        meta=meta,
        # The component models are not updated incrementally: they stay as the last full
        # training left them until the next one.
        components=artifact.components,
    )
    progress(1.0, "updated")
    return result


def _shift_identity(
    rows: sp.csr_matrix, n_named: int, id_offset: int, n_total_ids: int
) -> sp.csr_matrix:
    """Move identity columns of rows built against a partial id map to their global place."""
    coo = rows.tocoo()
    cols = coo.col.copy()
    ident = cols >= n_named
    cols[ident] += id_offset
    return sp.csr_matrix(
        (coo.data, (coo.row, cols)), shape=(rows.shape[0], n_named + n_total_ids), dtype=np.float32
    )
