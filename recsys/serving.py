"""Serving recommendations to storefront placements, fast and without restarts.

Each web process keeps, per merchant, in memory:

* a **catalog snapshot**: the active products as an :class:`recsys.ranking.ItemTable` plus what
  the widget shows (title, price, image). Rebuilt when the products' count or latest
  ``updated_at`` changes (checked at most every ``MERCHLAB_SERVING_CHECK_SECONDS``);
* the **active model version**: its :class:`recsys.training.RecommenderArtifact` loaded from
  Django storage, with item representations aligned to the catalog order (products created
  after training are embedded from their metadata by ``artifact.item_representation``).
  The active version id is checked at the same pace, so a newly trained or activated model is
  picked up without a restart;
* **popularity** per product from recent tracking events (``MERCHLAB_POPULARITY_DAYS``),
  recomputed every ``MERCHLAB_POPULARITY_SECONDS``.

When a snapshot exists, reloads run in a background thread and requests keep using the old
one until the new one is ready (stale-while-revalidate), so a new model version or a catalog
edit does not stall requests. The first load of a merchant is synchronous.

Per request (:func:`recommend`) the work is: one query for the visitor's recent events (session
items and purchases), one matrix-vector product over the catalog and the ranking of
``recsys.ranking.recommend``. Visitors:

* known to the model: their learned vector, folded together with this session's views;
* new: ``artifact.user_representation(user_record=...)`` from their features when any, folded
  with the session's views (``recsys.ranking.visitor_vector``): real time, no retraining;
* no model yet, or nothing known: the placement's fallback strategy answers.

This module imports Django models lazily inside functions so that ``recsys`` keeps no import-
time dependency on the apps; it never imports storefront or dashboard code: the placement is
passed in as a :class:`PlacementSpec` (the storefront builds it from its Placement row).

Public interface:

* ``PlacementSpec.from_placement(placement)``
* ``recommend(*, merchant, spec, visitor_id=None, sku=None, limit=None, user_record=None) -> Served``
* catalog snapshots also hold each product's live description (shortened), rebuilt when
  LiveCopy changes, so a request needs no copy query;
* ``Served``: ``placement``, ``model_version`` (the ModelVersion.version number, or None when the
  fallback answered), ``strategy`` (what answered),
  ``items``: list of ``ServedItem(sku, title, price, currency, image_url, description, score,
  reason, product_id)``
* ``reset()``: forget every cached snapshot (tests, management commands).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from recsys import fusion, ranking
from recsys.cooccurrence import BoughtTogether, family_key
from recsys.evaluation import RECENT_ANCHORS
from recsys.sequence import SEQUENCE_EVENT_TYPES, NextItems

logger = logging.getLogger(__name__)

SESSION_TYPES = ("view", "click", "add_to_cart")
SESSION_ITEMS = 20  # most recent distinct products that make up "this session"
HISTORY_EVENTS = 200  # recent events read per request (session + purchases)
DESCRIPTION_CHARS = 240
# Popularity: what a shopper did with a product counts more the closer it is to buying.
POPULARITY_WEIGHTS = {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}


def tile_description(value: str) -> str:
    """A description shortened to fit a widget tile (the product page shows the full copy)."""
    if len(value) <= DESCRIPTION_CHARS:
        return value
    return value[: DESCRIPTION_CHARS - 1].rstrip() + "…"


def _setting(name: str, default: Any) -> Any:
    from django.conf import settings

    return getattr(settings, name, default)


# --------------------------------------------------------------------------------------
# Placement settings as the ranking needs them


@dataclass(frozen=True)
class PlacementSpec:
    key: str
    strategy: str
    fallback_strategy: str
    filters: ranking.Filters
    rules: ranking.Rules
    diversity: ranking.Diversity
    limit: int
    fixed_skus: tuple[str, ...] = ()

    @classmethod
    def from_placement(cls, placement) -> PlacementSpec:
        """From a storefront Placement row (or anything with the same attributes)."""
        return cls(
            key=placement.key,
            strategy=placement.strategy,
            fallback_strategy=placement.fallback_strategy,
            filters=ranking.Filters.from_json(placement.filters),
            rules=ranking.Rules.from_json(placement.rules),
            diversity=ranking.Diversity.from_json(placement.diversity),
            limit=int(placement.limit),
            fixed_skus=tuple(placement.fixed_skus or ()),
        )


@dataclass(frozen=True)
class ServedItem:
    sku: str
    title: str
    price: Decimal
    currency: str
    image_url: str
    description: str
    score: float
    reason: str
    product_id: int


@dataclass
class Served:
    placement: str
    model_version: int | None
    strategy: str
    items: list[ServedItem]


# --------------------------------------------------------------------------------------
# Snapshots


@dataclass
class CatalogSnapshot:
    signature: tuple
    table: ranking.ItemTable
    product_ids: np.ndarray
    titles: list[str]
    prices: list[Decimal]
    currencies: list[str]
    image_urls: list[str]
    descriptions: list[str]
    records: list[dict]  # metadata per product, to embed products the model has not seen


@dataclass
class ModelSnapshot:
    version_id: int  # ModelVersion primary key
    version: int  # the merchant's version number, as the API and dashboard show it
    artifact: Any  # recsys.training.RecommenderArtifact
    # Aligned with a catalog snapshot (rebuilt when either changes):
    catalog_signature: tuple | None = None
    embeddings: np.ndarray | None = None
    biases: np.ndarray | None = None
    normalized: np.ndarray | None = None
    model_rows: np.ndarray | None = None  # catalog index -> artifact item row, -1 if cold
    # next_items product order -> catalog index (-1 when the product left the catalog)
    next_items_rows: np.ndarray | None = None


@dataclass
class MerchantState:
    merchant_id: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    catalog: CatalogSnapshot | None = None
    catalog_checked: float = 0.0
    model: ModelSnapshot | None = None
    model_checked: float = 0.0
    model_version_seen: int | None = None
    popularity: np.ndarray | None = None
    popularity_signature: tuple | None = None
    popularity_at: float = 0.0
    refreshing: set[str] = field(default_factory=set)


_states: dict[int, MerchantState] = {}
_states_lock = threading.Lock()


def reset() -> None:
    """Forget all cached snapshots (the next request reloads)."""
    with _states_lock:
        _states.clear()


def _state(merchant_id: int) -> MerchantState:
    st = _states.get(merchant_id)
    if st is None:
        with _states_lock:
            st = _states.setdefault(merchant_id, MerchantState(merchant_id=merchant_id))
    return st


def _in_background(st: MerchantState, what: str, fn) -> None:
    """Run fn() in a thread unless one for `what` is already running (old snapshot stays)."""
    if not _setting("MERCHLAB_SERVING_BACKGROUND_REFRESH", True):
        fn()
        return
    with st.lock:
        if what in st.refreshing:
            return
        st.refreshing.add(what)

    def run():
        from django.db import connection

        try:
            fn()
        except Exception:  # keep serving the old snapshot; the next check retries
            logger.exception(
                "serving: background refresh of %s failed for merchant %s", what, st.merchant_id
            )
        finally:
            with st.lock:
                st.refreshing.discard(what)
            connection.close()

    threading.Thread(target=run, name=f"merchlab-serving-{what}", daemon=True).start()


# -- catalog ---------------------------------------------------------------------------


def _catalog_signature(merchant_id: int) -> tuple:
    from django.db.models import Count, Max

    from merchandising.catalog.models import Product

    agg = Product.objects.filter(merchant_id=merchant_id).aggregate(
        n=Count("id"), latest=Max("updated_at")
    )
    return (agg["n"], agg["latest"])


def _load_catalog(merchant_id: int, signature: tuple) -> CatalogSnapshot:
    from merchandising.catalog.models import LiveCopy, Product

    rows = list(
        Product.objects.filter(merchant_id=merchant_id, status=Product.Status.ACTIVE)
        .order_by("id")
        .values_list(
            "id",
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "currency",
            "tags",
            "image_url",
            "stock",
            "created_at",
            "attributes",
        )
    )
    table = ranking.ItemTable(
        skus=[r[1] for r in rows],
        categories=[r[4] for r in rows],
        brands=[r[3] for r in rows],
        tags=[r[7] or () for r in rows],
        prices=np.array([float(r[5]) for r in rows], dtype=np.float64),
        stock=np.array([r[9] for r in rows], dtype=np.int64),
        created_ts=np.array([r[10].timestamp() for r in rows], dtype=np.float64),
    )
    records = [
        {
            "item_id": r[1],
            "title": r[2],
            "brand": r[3],
            "category": r[4],
            "price": float(r[5]),
            "tags": list(r[7] or ()),
            "attributes": dict(r[11] or {}),
        }
        for r in rows
    ]
    # The live description, shortened for a widget tile (the product page shows the full copy).
    descriptions: dict[int, str] = {}
    for pid, value in LiveCopy.objects.filter(
        merchant_id=merchant_id, field="description"
    ).values_list("product_id", "value"):
        if isinstance(value, str):
            descriptions[pid] = tile_description(value)
    return CatalogSnapshot(
        signature=signature,
        descriptions=[descriptions.get(r[0], "") for r in rows],
        table=table,
        product_ids=np.array([r[0] for r in rows], dtype=np.int64),
        titles=[r[2] for r in rows],
        prices=[r[5] for r in rows],
        currencies=[r[6] for r in rows],
        image_urls=[r[8] for r in rows],
        records=records,
    )


def _ensure_catalog(st: MerchantState) -> CatalogSnapshot:
    now = time.monotonic()
    check = float(_setting("MERCHLAB_SERVING_CHECK_SECONDS", 5.0))
    if st.catalog is not None and now - st.catalog_checked < check:
        return st.catalog
    st.catalog_checked = now
    signature = _catalog_signature(st.merchant_id)
    if st.catalog is not None and st.catalog.signature == signature:
        return st.catalog

    def load():
        catalog = _load_catalog(st.merchant_id, signature)
        model = st.model
        aligned = align(model, catalog) if model is not None else None
        # Swap both together so requests never align on their own path after a catalog edit.
        st.catalog = catalog
        if aligned is not None and st.model is model:
            st.model = aligned

    if st.catalog is None:
        load()
    else:
        _in_background(st, "catalog", load)
    return st.catalog


# -- model -----------------------------------------------------------------------------


def _active_version(merchant_id: int) -> tuple[int, Any] | None:
    """(version id, registry row) of the merchant's active model version, or None."""
    try:
        from recsys.models import ModelVersion
    except ImportError:  # registry not installed yet
        return None
    version = (
        ModelVersion.objects.filter(merchant_id=merchant_id, is_active=True).order_by("-id").first()
    )
    return (version.pk, version) if version is not None else None


def _load_artifact(version) -> Any:
    from django.core.files.storage import default_storage

    from recsys.training import RecommenderArtifact

    with default_storage.open(version.artifact_path, "rb") as fh:
        return RecommenderArtifact.from_bytes(fh.read())


def _ensure_model(st: MerchantState) -> ModelSnapshot | None:
    now = time.monotonic()
    check = float(_setting("MERCHLAB_SERVING_CHECK_SECONDS", 5.0))
    if now - st.model_checked < check:
        return st.model
    st.model_checked = now
    ref = _active_version(st.merchant_id)
    if ref is None:
        st.model = None
        st.model_version_seen = None
        return None
    version_id, version = ref
    if st.model is not None and st.model.version_id == version_id:
        return st.model
    if st.model_version_seen == version_id and st.model is None:
        return None  # failed to load before; retry at the next check
    st.model_version_seen = version_id

    def load():
        try:
            artifact = _load_artifact(version)
        except Exception:
            logger.exception("serving: cannot load model version %s", version_id)
            st.model_version_seen = None
            return
        st.model = ModelSnapshot(
            version_id=version_id, version=int(version.version), artifact=artifact
        )

    if st.model is None:
        load()
    else:
        _in_background(st, "model", load)
    return st.model


def align(model: ModelSnapshot, catalog: CatalogSnapshot) -> ModelSnapshot:
    """Item representations in catalog order; products the model lacks get metadata vectors."""
    if model.catalog_signature == catalog.signature and model.embeddings is not None:
        return model
    art = model.artifact
    n = len(catalog.table)
    dim = int(art.item_vectors.shape[1]) if art.item_vectors.ndim == 2 else 0
    rows = np.array([art.item_index.get(s, -1) for s in catalog.table.skus], dtype=np.int64)
    emb = np.zeros((n, dim), dtype=np.float32)
    bias = np.zeros(n, dtype=np.float32)
    known = rows >= 0
    emb[known] = art.item_vectors[rows[known]]
    bias[known] = art.item_biases[rows[known]]
    for i in np.flatnonzero(~known):
        try:
            b, v = art.item_representation(catalog.records[i])
        except Exception:  # a record the feature space cannot read: neutral vector
            b, v = 0.0, np.zeros(dim, dtype=np.float32)
        emb[i] = v
        bias[i] = b
    aligned = ModelSnapshot(
        version_id=model.version_id,
        version=model.version,
        artifact=art,
        catalog_signature=catalog.signature,
        embeddings=emb,
        biases=bias,
        normalized=ranking.normalize_rows(emb),
        model_rows=rows,
        next_items_rows=_component_rows(art, NextItems.name, catalog),
    )
    return aligned


def _component_rows(art, name: str, catalog: CatalogSnapshot) -> np.ndarray | None:
    component = art.components.get(name)
    if component is None:
        return None
    index = catalog.table.sku_index
    return np.fromiter(
        (index.get(s, -1) for s in component.item_ids),
        dtype=np.int64,
        count=len(component.item_ids),
    )


def _ensure_aligned(st: MerchantState, catalog: CatalogSnapshot) -> ModelSnapshot | None:
    model = _ensure_model(st)
    if model is None:
        return None
    if model.catalog_signature != catalog.signature:
        model = align(model, catalog)
        if st.model is not None and st.model.version_id == model.version_id:
            st.model = model
    return model


# -- popularity ------------------------------------------------------------------------


def _popularity_counts(merchant_id: int) -> dict[str, float]:
    """sku -> weighted count of recent events (clicks, carts and purchases weigh more)."""
    try:
        from merchandising.tracking.models import Event
    except ImportError:
        return {}
    from django.db.models import Count
    from django.utils import timezone

    since = timezone.now() - timezone.timedelta(days=int(_setting("MERCHLAB_POPULARITY_DAYS", 30)))
    counts: dict[str, float] = {}
    rows = (
        Event.objects.filter(
            merchant_id=merchant_id, ts__gte=since, type__in=tuple(POPULARITY_WEIGHTS)
        )
        .exclude(sku="")
        .values_list("sku", "type")
        .annotate(n=Count("id"))
    )
    for sku, etype, n in rows:
        counts[sku] = counts.get(sku, 0.0) + POPULARITY_WEIGHTS[etype] * n
    return counts


def _ensure_popularity(st: MerchantState, catalog: CatalogSnapshot) -> np.ndarray:
    now = time.monotonic()
    every = float(_setting("MERCHLAB_POPULARITY_SECONDS", 60.0))
    fresh = st.popularity is not None and now - st.popularity_at < every
    if fresh and st.popularity_signature == catalog.signature:
        return st.popularity

    def load():
        counts = _popularity_counts(st.merchant_id)
        table = catalog.table
        pop = np.zeros(len(table), dtype=np.float64)
        for sku, c in counts.items():
            i = table.sku_index.get(sku)
            if i is not None:
                pop[i] = c
        st.popularity = pop
        st.popularity_signature = catalog.signature
        st.popularity_at = time.monotonic()

    if st.popularity is None or st.popularity_signature != catalog.signature:
        load()
    else:
        st.popularity_at = now  # one refresh at a time; others keep the current counts
        _in_background(st, "popularity", load)
    return st.popularity


# --------------------------------------------------------------------------------------
# Visitor history


@dataclass
class VisitorHistory:
    session_skus: list[str]  # oldest first, distinct
    purchased_skus: set[str]
    # Added to the cart since the visitor's last purchase, in this history window, oldest first.
    cart_skus: list[str] = field(default_factory=list)
    # This session's products in order (repeats kept), oldest first: the events since the
    # last pause longer than MERCHLAB_SESSION_GAP_MINUTES (the input of next_items).
    session_sequence: list[str] = field(default_factory=list)
    record: dict | None = None  # user features seen on events (country, device), for new visitors
    linked_id: str | None = None  # the signed-in visitor id this anonymous id was linked to


def _epoch(ts) -> float:
    # SQLite hands raw timestamps back as text.
    if isinstance(ts, str):
        return datetime.fromisoformat(ts).timestamp()
    return ts.timestamp()


def visitor_history(merchant_id: int, visitor_id: str | None) -> VisitorHistory:
    """The visitor's recent products (this session) and purchases, from tracking events."""
    if not visitor_id:
        return VisitorHistory([], set())
    try:
        from merchandising.tracking.models import Event, VisitorLink
    except ImportError:
        return VisitorHistory([], set())
    from django.db import connection

    # Raw SQL on the hot path (the ORM's query compilation costs more than the indexed read;
    # index event_visitor_ts covers merchant, visitor_id, -ts). The visitor link comes in the
    # same round trip: its row is the one with a NULL type.
    with connection.cursor() as cursor:
        # Subqueries in FROM so that SQLite (the demo) runs it too; typed NULLs so that
        # PostgreSQL can match the columns of the two halves.
        sql = (
            f"SELECT * FROM (SELECT type, sku, country, device, ts FROM {Event._meta.db_table} "  # noqa: S608 (table names from the models)
            "WHERE merchant_id = %s AND visitor_id = %s ORDER BY ts DESC LIMIT %s) AS e "
            "UNION ALL SELECT * FROM (SELECT CAST(NULL AS VARCHAR(20)), visitor_id, "
            "CAST(NULL AS VARCHAR(64)), CAST(NULL AS VARCHAR(32)), CAST(NULL AS TIMESTAMP) "
            f"FROM {VisitorLink._meta.db_table} WHERE merchant_id = %s AND anonymous_id = %s "
            "LIMIT 1) AS l"
        )
        cursor.execute(sql, [merchant_id, visitor_id, HISTORY_EVENTS, merchant_id, visitor_id])
        rows = cursor.fetchall()
    linked = next((row[1] for row in rows if row[0] is None), None)
    events = sorted(
        (row for row in rows if row[0] is not None), key=lambda row: row[4], reverse=True
    )
    session: list[str] = []
    seen: set[str] = set()
    purchased: set[str] = set()
    cart: list[str] = []
    bought_since = False  # a purchase newer than the event at hand: that cart is closed
    sequence: list[str] = []
    gap = float(_setting("MERCHLAB_SESSION_GAP_MINUTES", 30)) * 60.0
    in_session, newer_ts = True, None
    record: dict[str, str] = {}
    for etype, sku, country, device, ts in events:  # newest first
        seconds = _epoch(ts)
        if in_session and newer_ts is not None and newer_ts - seconds > gap:
            in_session = False
        newer_ts = seconds
        if in_session and sku and etype in SEQUENCE_EVENT_TYPES:
            sequence.append(sku)
        if country and "country" not in record:
            record["country"] = country
        if device and "device" not in record:
            record["device"] = device
        if not sku:
            continue
        if etype == "purchase":
            purchased.add(sku)
            bought_since = True
            continue
        if etype == "add_to_cart" and not bought_since and sku not in cart:
            cart.append(sku)
        if etype in SESSION_TYPES and sku not in seen and len(session) < SESSION_ITEMS:
            seen.add(sku)
            session.append(sku)
    session.reverse()
    cart.reverse()
    sequence.reverse()
    return VisitorHistory(
        session,
        purchased,
        cart,
        sequence,
        {"user_id": visitor_id, **record} if record else None,
        linked,
    )


# --------------------------------------------------------------------------------------
# Recommend


def _fallback(spec: PlacementSpec, catalog: CatalogSnapshot, st: MerchantState, anchor: int | None):
    """(scores function, reason) of the placement's fallback; scores are computed on demand."""
    table = catalog.table
    kind = spec.fallback_strategy
    if kind == "newest":
        return (lambda: ranking.newest_scores(table)), ranking.REASON_NEWEST
    if kind == "fixed":
        return (lambda: ranking.fixed_scores(table, spec.fixed_skus)), ranking.REASON_FIXED
    if anchor is not None and spec.strategy == "similar":

        def same_category_first():
            # Without a model, "similar" means: popular in the same category first.
            pop = ranking.popularity_scores(_ensure_popularity(st, catalog))
            same = table.category_codes == table.category_codes[anchor]
            return pop + same * (float(pop.max(initial=0.0)) + 1.0)

        return same_category_first, "popular in this category"
    return (
        lambda: ranking.popularity_scores(_ensure_popularity(st, catalog))
    ), ranking.REASON_POPULAR


def _personal(
    model: ModelSnapshot,
    table: ranking.ItemTable,
    history: VisitorHistory,
    visitor_id: str | None,
    user_record: dict | None,
    session_rows: list[int],
    names: list[str] | None = None,
) -> tuple[np.ndarray | None, ranking.Reason]:
    """The LightFM hybrid's scores for this visitor (profile, features, this session's rows),
    or (None, _) when nothing is known about them; reasons name products by ``names``."""
    art = model.artifact
    row = art.user_index.get(visitor_id) if visitor_id else None
    if row is None and visitor_id:
        linked = history.linked_id
        row = art.user_index.get(linked) if linked else None
    user_vec = art.user_vectors[row] if row is not None else None
    feature_vec = None
    user_record = user_record or history.record
    if user_vec is None and user_record:
        vec, _bias, how = art.user_representation(user_record=user_record)
        feature_vec = vec if how == "features" else None
    q = ranking.visitor_vector(
        user_vector=user_vec,
        feature_vector=feature_vec,
        session_vectors=model.embeddings[session_rows] if session_rows else None,
    )
    if q is None:
        return None, ranking.REASON_PERSONAL
    scores = ranking.personal_scores(q, model.embeddings, model.biases)
    if user_vec is None and session_rows:
        return scores, ranking.nearest_reasons(table, model.normalized, session_rows, names=names)
    return scores, ranking.REASON_PERSONAL


def _bought_together(
    model: ModelSnapshot | None,
    catalog: CatalogSnapshot,
    anchor_skus: Sequence[str],
    include_same_family: bool,
) -> tuple[np.ndarray | None, ranking.Reason]:
    """Scores of the products bought with the anchors (summed over a cart's products), each
    with the reason "often bought with <anchor title>"; (None, _) when the anchors have no
    partners in the catalog (or the model has no bought-together component)."""
    component = model.artifact.components.get(BoughtTogether.name) if model else None
    if component is None or not anchor_skus:
        return None, ""
    table = catalog.table
    related = component.related(anchor_skus)
    if not related:
        return None, ""
    anchor_rows = table.indices_of(anchor_skus)
    families = (
        set() if include_same_family else {family_key(catalog.records[i]) for i in anchor_rows}
    )
    scores = np.full(len(table), -np.inf)
    because: dict[int, str] = {}
    for partner, (score, anchor_sku) in related.items():
        i = table.sku_index.get(partner)
        if i is None or (families and family_key(catalog.records[i]) in families):
            continue
        scores[i] = score
        because[i] = anchor_sku
    if not because:
        return None, ""

    def title(anchor_sku: str) -> str:
        row = table.sku_index.get(anchor_sku)
        return catalog.titles[row] if row is not None else anchor_sku

    def reasons(indices: np.ndarray) -> list[str]:
        return [f"often bought with {title(because[int(i)])}" for i in indices]

    return scores, reasons


def _next_items(
    model: ModelSnapshot | None, catalog: CatalogSnapshot, sequence: Sequence[str]
) -> tuple[np.ndarray | None, ranking.Reason]:
    """Scores of what comes next after this session's products (the model keeps the last
    ``max_len``); (None, _) without a session or a next-items component."""
    component = model.artifact.components.get(NextItems.name) if model else None
    rows = model.next_items_rows if model is not None else None
    if component is None or rows is None or not sequence:
        return None, ""
    raw = component.scores(sequence)
    if raw is None:
        return None, ""
    scores = np.full(len(catalog.table), -np.inf)
    known = rows >= 0
    scores[rows[known]] = raw[known]
    last = catalog.table.sku_index.get(sequence[-1])
    title = catalog.titles[last] if last is not None else sequence[-1]
    return scores, f"often next after {title}"


def _recent(skus: Sequence[str]) -> list[str]:
    """The latest distinct products, newest first, as many as the hold-out used as anchors."""
    return list(dict.fromkeys(reversed(skus)))[:RECENT_ANCHORS]


def _sequence(history: VisitorHistory, anchor: int | None, sku: str | None) -> list[str]:
    sequence = list(history.session_sequence)
    if anchor is not None and (not sequence or sequence[-1] != sku):
        sequence.append(sku)  # the product on screen is the latest step
    return sequence


def _blend(weights: dict, **models) -> tuple[np.ndarray | None, ranking.Reason]:
    """The weighted sum of the models' normalised scores (``recsys.fusion``); each product's
    reason is the reason of the model that contributed most to its score."""
    names = {"personal": "merchlab", "together": "bought_together", "following": "next_items"}
    parts, reasons = {}, {}
    for key, (scores, reason) in models.items():
        name = names.get(key, "popularity")
        if scores is not None and float(weights.get(name, 0.0)) > 0:
            parts[name] = fusion.normalise(scores) * float(weights[name])
            reasons[name] = reason
    if not parts:
        return None, ""
    order = list(parts)
    stacked = np.vstack([parts[n] for n in order])
    total = stacked.sum(axis=0)

    def build(indices: np.ndarray) -> list[str]:
        lead = np.argmax(stacked[:, indices], axis=0)
        out = []
        for position, i in zip(lead, indices, strict=True):
            reason = reasons[order[position]]
            out.append(reason(np.asarray([i]))[0] if callable(reason) else reason)
        return out

    return total, build


def _with_note(reason: ranking.Reason, note: str | None) -> ranking.Reason:
    if not note:
        return reason
    if callable(reason):
        return lambda indices: [f"{r} ({note})" for r in reason(indices)]
    return f"{reason} ({note})"


def recommend(
    *,
    merchant,
    spec: PlacementSpec,
    visitor_id: str | None = None,
    sku: str | None = None,
    limit: int | None = None,
    user_record: dict | None = None,
    cart_skus: Sequence[str] = (),
) -> Served:
    """Recommendations for one placement request. See the module docstring.

    ``cart_skus`` are the products in the visitor's cart (the anchors of ``bought_together``
    on a cart page); without them the products added to the cart since the visitor's last
    purchase are used, and ``sku`` (the product on screen) is an anchor too.
    """
    st = _state(merchant.pk)
    catalog = _ensure_catalog(st)
    table = catalog.table
    limit = spec.limit if limit is None else max(1, min(int(limit), 50))
    anchor = table.sku_index.get(sku) if sku else None
    history = visitor_history(merchant.pk, visitor_id)
    purchased = table.indices_of(history.purchased_skus)
    session = table.indices_of(history.session_skus)
    cart_skus = [str(c) for c in cart_skus if c]
    if not cart_skus and not sku and spec.strategy == "bought_together":
        cart_skus = list(history.cart_skus)
    anchor_skus = list(dict.fromkeys([*cart_skus, *([sku] if sku else [])]))
    cart_rows = [i for i in table.indices_of(cart_skus) if i != anchor]
    # Anchors the shop does not sell (a stale page, a typo): said in the reasons.
    unknown = [a for a in anchor_skus if a not in table.sku_index]
    note = None
    if unknown and spec.strategy == "bought_together":
        note = f"{unknown[0]} is not on sale in this shop"

    model = _ensure_aligned(st, catalog) if spec.strategy in ranking.MODEL_STRATEGIES else None
    # "blend" serves the fused models where they beat each single model on the merchant's
    # hold-out, else the best single model (fitted at training, kept in the artifact).
    kind, blend_weights = spec.strategy, None
    if kind == "blend":
        fitted = (model.artifact.meta.get("fusion") or {}) if model is not None else {}
        chosen = fitted.get("chosen")
        if chosen == "blend":
            blend_weights = fitted.get("weights") or {}
        else:
            kind = {"merchlab": "lightfm", None: "lightfm"}.get(chosen, chosen)
    scores = None
    reason: ranking.Reason = ranking.REASON_PERSONAL
    strategy = kind
    normalized = None
    # The product on screen and the cart count as the latest views.
    session_rows = [i for i in session if i != anchor and i not in cart_rows] + cart_rows
    session_rows += [anchor] if anchor is not None else []
    personal_fallback = None
    if kind == "lightfm" and model is not None:
        scores, reason = _personal(
            model, table, history, visitor_id, user_record, session_rows, catalog.titles
        )
        normalized = model.normalized if scores is not None else None
    elif kind in ("bought_together", "next_items"):
        if kind == "bought_together":
            anchors = anchor_skus or (
                # Chosen by the blend on a page without a cart: the latest products stand in.
                _recent(history.session_skus) if spec.strategy == "blend" else []
            )
            scores, reason = _bought_together(
                model, catalog, anchors, spec.filters.include_same_family
            )
        else:
            scores, reason = _next_items(model, catalog, _sequence(history, anchor, sku))
        if model is not None:
            # No partners, or too few: the hybrid ("the current strategy") fills in.
            personal, personal_reason = _personal(
                model, table, history, visitor_id, user_record, session_rows, catalog.titles
            )
            if scores is None and personal is not None:
                scores, reason, strategy = personal, personal_reason, "lightfm"
                normalized = model.normalized
            elif personal is not None:
                personal_fallback = (personal, personal_reason)
    elif blend_weights is not None and model is not None:
        scores, reason = _blend(
            blend_weights,
            personal=_personal(
                model, table, history, visitor_id, user_record, session_rows, catalog.titles
            ),
            together=_bought_together(
                model,
                catalog,
                _recent(anchor_skus or history.session_skus),
                spec.filters.include_same_family,
            ),
            following=_next_items(model, catalog, _sequence(history, anchor, sku)),
            popular=(
                ranking.popularity_scores(_ensure_popularity(st, catalog)),
                ranking.REASON_POPULAR,
            ),
        )
        normalized = model.normalized if scores is not None else None
    elif kind == "similar" and model is not None and anchor is not None:
        scores = ranking.similar_scores(anchor, model.normalized)
        normalized = model.normalized
        reason = f"similar to {catalog.titles[anchor]}"
    elif kind == "popularity":
        scores, reason = (
            ranking.popularity_scores(_ensure_popularity(st, catalog)),
            ranking.REASON_POPULAR,
        )
    elif kind == "newest":
        scores, reason = ranking.newest_scores(table), ranking.REASON_NEWEST
    elif kind == "fixed":
        scores, reason = ranking.fixed_scores(table, spec.fixed_skus), ranking.REASON_FIXED

    # "For you" shows what the visitor has not just looked at (the session steers, it is not echoed).
    excluded = (
        list(session) if (kind in ("lightfm", "next_items", "blend") and scores is not None) else []
    )
    excluded += cart_rows  # what is in the cart already is never offered again
    if scores is None:
        strategy = spec.fallback_strategy
    fb_scores, fb_reason = _fallback(spec, catalog, st, anchor)
    if personal_fallback is not None:
        fb_scores, fb_reason = personal_fallback
    elif spec.fallback_strategy == kind and scores is not None:
        fb_scores = None  # same ranking twice adds nothing
    if scores is None:
        fb_reason = _with_note(fb_reason, note)
    else:
        reason = _with_note(reason, note)
    ranked = ranking.recommend(
        table=table,
        scores=scores,
        reason=reason,
        limit=limit,
        filters=spec.filters,
        rules=spec.rules,
        diversity=spec.diversity,
        anchor=anchor,
        purchased=purchased,
        exclude=excluded,
        normalized=normalized,
        fallback_scores=fb_scores,
        fallback_reason=fb_reason,
    )
    items = [
        ServedItem(
            sku=r.sku,
            title=catalog.titles[r.index],
            price=catalog.prices[r.index],
            currency=catalog.currencies[r.index],
            image_url=catalog.image_urls[r.index],
            description=catalog.descriptions[r.index],
            score=round(float(r.score), 6) if np.isfinite(r.score) else 0.0,
            reason=r.reason,
            product_id=int(catalog.product_ids[r.index]),
        )
        for r in ranked
    ]
    return Served(
        placement=spec.key,
        model_version=model.version if (model is not None and scores is not None) else None,
        strategy=strategy,
        items=items,
    )


def warm(merchant_ids: Sequence[int]) -> None:
    """Load snapshots ahead of traffic (e.g. from a gunicorn post_fork hook)."""
    for mid in merchant_ids:
        st = _state(mid)
        catalog = _ensure_catalog(st)
        _ensure_aligned(st, catalog)
        _ensure_popularity(st, catalog)
