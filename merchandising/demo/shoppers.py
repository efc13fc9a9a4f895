"""Deterministic shopper simulator with known latent groups.

Pure module (no Django import). Visitors belong to one of a few *latent groups* (their true
segment) that fix their category tastes, price attitude, activity, country and device mix.
They browse (``view``), add to cart and buy over simulated days; the recommender, the A/B
tests and the segments evaluation all use it as ground truth:

* ``ShopperSimulator.simulate(days)`` -> organic traffic, chronological event dicts.
* ``ShopperSimulator.react(visitor_id, skus, ...)`` -> how a visitor responds to a list of
  recommended SKUs: ``impression`` per SKU, then ``click``/``view``/``add_to_cart``/``purchase``
  events carrying the ``request_id`` and ``placement`` so they can be attributed.
* ``variant_uplift`` (constructor) or ``uplift=`` (per call) apply a *true* relative conversion
  uplift for an experiment variant, so an A/B test has a real difference to detect and an A/A
  test (no uplift on either arm) has none.
* ``ShopperSimulator.product_page(visitor_id, sku, ...)`` -> a visit to one product page
  (``view``, maybe ``add_to_cart`` and ``purchase`` of it), for copy tests.
* ``ShopperSimulator.latent_segments()`` -> ``{visitor_id: group}`` for the adjusted Rand index.

Event dict keys: ``event_id, type, visitor_id, sku, ts`` (timezone-aware UTC ``datetime``),
``value`` (float: line value for ``add_to_cart`` and ``purchase``, else ``None``), ``session_id``,
``device``, ``country``, and for responses to recommendations ``placement``, ``request_id``,
``position`` (0-based rank in the list shown).

Choice model: a visitor's utility for a product is a sum of a category-affinity term, a price
term (log price relative to the category median, weighted by the visitor's price attitude), a
favourite-brand bonus, a per-product quality and a per-pair taste noise; choices among products
are multinomial logit (softmax of utilities; McFadden, "Conditional logit analysis of qualitative
choice behavior", 1974). Click probability on a ranked list is discounted by position as
1/log2(rank+2), the DCG position discount (Järvelin & Kekäläinen, "Cumulated gain-based
evaluation of IR techniques", ACM TOIS 2002).

Everything random is drawn from ``random.Random`` seeded by a string built from the simulator
seed and the call's identity (visitor, day, request), so results do not depend on call order.
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EVENT_TYPES = ("impression", "view", "click", "add_to_cart", "purchase")


@dataclass(frozen=True)
class LatentGroup:
    """A true shopper segment: the tastes its members share (plus individual noise)."""

    name: str
    share: float  # fraction of visitors
    affinity: dict[str, float]  # top-level category -> relative taste (normalised per visitor)
    price_attitude: float  # -1 bargain hunter ... +1 premium buyer
    sessions_per_day: float
    cart_rate: float  # scale of add-to-cart probability per product view
    purchase_rate: float  # probability a session with a cart ends in a purchase
    countries: dict[str, float]
    devices: dict[str, float]


LATENT_GROUPS: tuple[LatentGroup, ...] = (
    LatentGroup(
        name="value_home_cooks",
        share=0.25,
        affinity={"Kitchen": 0.6, "Home": 0.3, "Pets": 0.1},
        price_attitude=-0.9,
        sessions_per_day=0.25,
        cart_rate=0.22,
        purchase_rate=0.45,
        countries={"GB": 0.5, "IE": 0.2, "DE": 0.15, "FR": 0.15},
        devices={"mobile": 0.7, "desktop": 0.2, "tablet": 0.1},
    ),
    LatentGroup(
        name="premium_outdoor_regulars",
        share=0.2,
        affinity={"Outdoor": 0.5, "Footwear": 0.25, "Sports": 0.25},
        price_attitude=0.8,
        sessions_per_day=0.45,
        cart_rate=0.3,
        purchase_rate=0.65,
        countries={"DE": 0.45, "AT": 0.2, "CH": 0.2, "NL": 0.15},
        devices={"desktop": 0.55, "mobile": 0.4, "tablet": 0.05},
    ),
    LatentGroup(
        name="tech_and_office",
        share=0.2,
        affinity={"Electronics": 0.65, "Office": 0.35},
        price_attitude=0.2,
        sessions_per_day=0.3,
        cart_rate=0.18,
        purchase_rate=0.5,
        countries={"NL": 0.3, "DE": 0.3, "GB": 0.2, "SE": 0.2},
        devices={"desktop": 0.65, "mobile": 0.3, "tablet": 0.05},
    ),
    LatentGroup(
        name="style_and_beauty",
        share=0.2,
        affinity={"Apparel": 0.5, "Beauty": 0.35, "Footwear": 0.15},
        price_attitude=0.35,
        sessions_per_day=0.35,
        cart_rate=0.25,
        purchase_rate=0.4,
        countries={"FR": 0.35, "IT": 0.25, "ES": 0.2, "GB": 0.2},
        devices={"mobile": 0.8, "tablet": 0.1, "desktop": 0.1},
    ),
    LatentGroup(
        name="family_garden_pets",
        share=0.15,
        affinity={"Toys": 0.4, "Garden": 0.3, "Pets": 0.3},
        price_attitude=-0.4,
        sessions_per_day=0.2,
        cart_rate=0.22,
        purchase_rate=0.5,
        countries={"GB": 0.4, "DE": 0.3, "PL": 0.3},
        devices={"mobile": 0.5, "desktop": 0.35, "tablet": 0.15},
    ),
)

# A visitor's affinity is Dirichlet around the group's profile: this concentration keeps
# individuals recognisable members of their group while differing from each other.
_AFFINITY_CONCENTRATION = 40.0
_AFFINITY_FLOOR = 0.02  # every category gets some background taste
_EXPLORE = 0.1  # share of sessions that start in a random category
_STAY = 0.4  # chance that the next view stays in the same category (else: re-drawn by taste)


@dataclass(frozen=True)
class Visitor:
    """One simulated shopper and their hidden traits."""

    visitor_id: str
    segment: str  # the latent group (ground truth for segment recovery)
    category_affinity: dict[str, float]  # top-level category -> probability, sums to 1
    price_attitude: float  # -1 bargain hunter ... +1 premium buyer
    price_sensitivity: float  # (1 - price_attitude) / 2, in [0, 1]; 1 = very price sensitive
    favourite_brands: tuple[str, ...]
    country: str
    device: str
    sessions_per_day: float
    cart_rate: float
    purchase_rate: float
    active_from: float  # fraction of a simulated period when the visitor first comes
    active_until: float  # fraction of a simulated period after which they stop coming


def _top(category: str) -> str:
    return category.split(">")[0].strip()


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's multiplication method; fine for the small rates used here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _hash_normal(*parts: object, sigma: float) -> float:
    """A stable N(0, sigma) draw keyed by ``parts`` (same value in every run and process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big")).gauss(0.0, sigma)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class ShopperSimulator:
    """Simulated visitors of one shop. See the module docstring for the event format."""

    def __init__(
        self,
        products: Iterable[dict[str, Any]],
        *,
        n_visitors: int = 400,
        seed: int = 7,
        start: datetime | None = None,
        groups: Sequence[LatentGroup] = LATENT_GROUPS,
        variant_uplift: dict[str, float] | None = None,
    ) -> None:
        """``products``: dicts with at least sku, category, price, brand (status "archived" and
        stock 0 are skipped). ``variant_uplift``: experiment variant key -> true relative uplift
        of conversion (0.2 = +20 %) applied when a call passes ``variant=``.
        """
        self.seed = seed
        self.start = start or datetime(2026, 1, 5, tzinfo=UTC)
        self.groups = tuple(groups)
        self.variant_uplift = dict(variant_uplift or {})
        self.products: dict[str, dict[str, Any]] = {}
        for product in products:
            if product.get("status", "active") != "active" or int(product.get("stock", 1)) <= 0:
                continue
            self.products[product["sku"]] = {
                "sku": product["sku"],
                "category": product["category"],
                "top": _top(product["category"]),
                "brand": product.get("brand", ""),
                "price": float(product["price"]),
            }
        if not self.products:
            raise ValueError("the simulator needs at least one active product in stock")

        by_leaf: dict[str, list[float]] = defaultdict(list)
        for p in self.products.values():
            by_leaf[p["category"]].append(p["price"])
        medians = {leaf: statistics.median(prices) for leaf, prices in by_leaf.items()}
        for p in self.products.values():
            # log price relative to the category median: >0 dearer, <0 cheaper than usual
            p["rel_price"] = (
                math.log(p["price"] / medians[p["category"]]) if p["price"] > 0 else 0.0
            )
            p["quality"] = _hash_normal(seed, "quality", p["sku"], sigma=0.4)

        self.categories = tuple(sorted({p["top"] for p in self.products.values()}))
        self._by_top: dict[str, list[str]] = defaultdict(list)
        for sku, p in sorted(self.products.items()):
            self._by_top[p["top"]].append(sku)
        self._brands_by_top: dict[str, list[str]] = {
            top: sorted({self.products[s]["brand"] for s in skus})
            for top, skus in self._by_top.items()
        }

        self.visitors: list[Visitor] = [self._make_visitor(i) for i in range(n_visitors)]
        self._visitors_by_id = {v.visitor_id: v for v in self.visitors}
        self._weights_cache: dict[tuple[str, str], list[float]] = {}

    # ----- visitors -------------------------------------------------------------------------

    def _make_visitor(self, index: int) -> Visitor:
        rng = random.Random(f"{self.seed}:visitor:{index}")
        group = self.groups[
            rng.choices(range(len(self.groups)), weights=[g.share for g in self.groups], k=1)[0]
        ]
        # Dirichlet(alpha) via normalised Gamma draws.
        raw = {}
        for cat in self.categories:
            alpha = _AFFINITY_CONCENTRATION * (group.affinity.get(cat, 0.0) + _AFFINITY_FLOOR)
            raw[cat] = rng.gammavariate(alpha, 1.0)
        total = sum(raw.values()) or 1.0
        affinity = {cat: value / total for cat, value in raw.items()}
        attitude = max(-1.0, min(1.0, group.price_attitude + rng.gauss(0.0, 0.2)))
        favourite_tops = sorted(affinity, key=affinity.get, reverse=True)[:2]
        brands = []
        for top in favourite_tops:
            if self._brands_by_top.get(top):
                brands.append(rng.choice(self._brands_by_top[top]))
        digest = hashlib.blake2s(f"{self.seed}:{index}".encode(), digest_size=6).hexdigest()
        active_from = rng.uniform(0.0, 0.5)
        return Visitor(
            visitor_id=f"v_{digest}",
            segment=group.name,
            category_affinity=affinity,
            price_attitude=attitude,
            price_sensitivity=(1.0 - attitude) / 2.0,
            favourite_brands=tuple(brands),
            country=_pick(rng, group.countries),
            device=_pick(rng, group.devices),
            sessions_per_day=group.sessions_per_day * rng.uniform(0.6, 1.5),
            cart_rate=group.cart_rate,
            purchase_rate=group.purchase_rate,
            active_from=active_from,
            active_until=rng.uniform(min(1.0, active_from + 0.3), 1.0),
        )

    def visitor(self, visitor_id: str) -> Visitor:
        """The hidden traits of ``visitor_id`` (KeyError for an unknown id)."""
        return self._visitors_by_id[visitor_id]

    def latent_segments(self) -> dict[str, str]:
        """Ground truth: visitor id -> latent group name."""
        return {v.visitor_id: v.segment for v in self.visitors}

    # ----- preferences ----------------------------------------------------------------------

    def _item_utility(self, visitor: Visitor, sku: str) -> float:
        """Utility inside a category (no category term): price, brand, quality, taste noise."""
        p = self.products[sku]
        brand_bonus = 0.7 if p["brand"] in visitor.favourite_brands else 0.0
        noise = _hash_normal(self.seed, "taste", visitor.visitor_id, sku, sigma=0.3)
        return 1.2 * visitor.price_attitude * p["rel_price"] + brand_bonus + p["quality"] + noise

    def utility(self, visitor_id: str, sku: str) -> float:
        """True utility of ``sku`` for the visitor: higher means more likely to click and buy."""
        visitor = self.visitor(visitor_id)
        top = self.products[sku]["top"]
        share = visitor.category_affinity.get(top, 0.0) * max(1, len(self.categories))
        return math.log(share + 0.05) + self._item_utility(visitor, sku)

    def best_skus(self, visitor_id: str, k: int = 10) -> list[str]:
        """The ``k`` products the visitor truly likes most (an oracle for evaluation)."""
        return sorted(self.products, key=lambda s: self.utility(visitor_id, s), reverse=True)[:k]

    def uplift_for(self, variant: str | None, uplift: float | None = None) -> float:
        """Relative conversion uplift for an experiment variant (explicit ``uplift`` wins)."""
        if uplift is not None:
            return uplift
        return self.variant_uplift.get(variant, 0.0) if variant is not None else 0.0

    # ----- event helpers --------------------------------------------------------------------

    def _event(
        self, rng: random.Random, kind: str, visitor: Visitor, sku: str, ts: datetime, **extra
    ) -> dict:
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": kind,
            "visitor_id": visitor.visitor_id,
            "sku": sku,
            "ts": ts,
            "value": None,
            "device": visitor.device,
            "country": visitor.country,
        }
        event.update(extra)
        return event

    def _browse_choice(self, rng: random.Random, visitor: Visitor, top: str) -> str:
        key = (visitor.visitor_id, top)
        weights = self._weights_cache.get(key)
        if weights is None:
            # multinomial logit over the category's products
            weights = [math.exp(self._item_utility(visitor, sku)) for sku in self._by_top[top]]
            self._weights_cache[key] = weights
        return rng.choices(self._by_top[top], weights=weights, k=1)[0]

    def _checkout(
        self,
        rng: random.Random,
        visitor: Visitor,
        cart: list[str],
        ts: datetime,
        uplift: float,
        extra: dict,
    ) -> list[dict]:
        if not cart or rng.random() >= min(0.97, visitor.purchase_rate * (1.0 + uplift)):
            return []
        events = []
        for sku in dict.fromkeys(cart):
            quantity = 2 if rng.random() < 0.08 else 1
            value = round(self.products[sku]["price"] * quantity, 2)
            events.append(self._event(rng, "purchase", visitor, sku, ts, value=value, **extra))
            ts += timedelta(seconds=1)
        return events

    # ----- organic traffic ------------------------------------------------------------------

    def session(
        self,
        visitor_id: str,
        *,
        ts: datetime,
        variant: str | None = None,
        uplift: float | None = None,
        session_key: str = "",
    ) -> list[dict]:
        """One browsing session from ``ts``: views, maybe add-to-carts, maybe a purchase.

        ``variant``/``uplift`` raise the probability that a cart is bought (true uplift).
        """
        visitor = self.visitor(visitor_id)
        rng = random.Random(f"{self.seed}:session:{visitor_id}:{ts.isoformat()}:{session_key}")
        lift = self.uplift_for(variant, uplift)
        session_id = f"s_{rng.getrandbits(48):012x}"
        extra = {"session_id": session_id}
        tastes = {c: w for c, w in visitor.category_affinity.items() if c in self._by_top}
        top = rng.choice(self.categories) if rng.random() < _EXPLORE else _pick(rng, tastes)
        n_views = 1 + min(11, int(rng.expovariate(1 / 3.0)))
        events: list[dict] = []
        cart: list[str] = []
        now = ts
        for view in range(n_views):
            if view and rng.random() > _STAY:
                top = _pick(rng, tastes)  # wander to another category the visitor likes
            sku = self._browse_choice(rng, visitor, top)
            events.append(self._event(rng, "view", visitor, sku, now, **extra))
            now += timedelta(seconds=rng.randint(15, 150))
            p_cart = visitor.cart_rate * 1.4 * _sigmoid(self._item_utility(visitor, sku) - 0.5)
            if sku not in cart and rng.random() < p_cart:
                price = self.products[sku]["price"]
                events.append(
                    self._event(rng, "add_to_cart", visitor, sku, now, value=price, **extra)
                )
                cart.append(sku)
                now += timedelta(seconds=rng.randint(5, 60))
        events.extend(self._checkout(rng, visitor, cart, now + timedelta(seconds=90), lift, extra))
        return events

    def simulate(self, days: int = 30, *, variant_of=None) -> Iterator[dict]:
        """Organic traffic of every visitor over ``days`` days from ``start``, in time order.

        ``variant_of``: optional callable visitor_id -> variant key, so a running experiment's
        assignment can apply its true uplift to organic sessions.
        """
        for day in range(days):
            day_events: list[dict] = []
            for visitor in self.visitors:
                if not (visitor.active_from * days <= day <= visitor.active_until * days):
                    continue
                rng = random.Random(f"{self.seed}:day:{visitor.visitor_id}:{day}")
                count = _poisson(rng, visitor.sessions_per_day)
                if not count:
                    continue
                starts = sorted(rng.uniform(7 * 3600, 23 * 3600) for _ in range(count))
                variant = variant_of(visitor.visitor_id) if variant_of else None
                ready = self.start + timedelta(days=day)
                for i, offset in enumerate(starts):
                    ts = max(self.start + timedelta(days=day, seconds=int(offset)), ready)
                    events = self.session(
                        visitor.visitor_id, ts=ts, variant=variant, session_key=f"{day}.{i}"
                    )
                    day_events.extend(events)
                    ready = events[-1]["ts"] + timedelta(minutes=10)
            day_events.sort(key=lambda e: (e["ts"], e["visitor_id"], e["event_id"]))
            yield from day_events

    # ----- product pages ----------------------------------------------------------------------

    def product_page(
        self,
        visitor_id: str,
        sku: str,
        *,
        ts: datetime,
        variant: str | None = None,
        uplift: float | None = None,
        visit_key: str = "",
    ) -> list[dict]:
        """A visit to one product's page (as in a copy test): a ``view``, maybe an
        ``add_to_cart`` of that product, maybe its ``purchase``. ``variant``/``uplift`` scale
        the add-to-cart probability (the copy persuades more or less: the true uplift).
        ``visit_key`` names the visit (then the outcome does not depend on ``ts``)."""
        visitor = self.visitor(visitor_id)
        # Keyed by the visit, not the clock, when the caller names the visit: the same outcome on
        # any day the simulation is run.
        rng = random.Random(f"{self.seed}:page:{visitor_id}:{sku}:{visit_key or ts.isoformat()}")
        lift = self.uplift_for(variant, uplift)
        extra = {"session_id": f"s_{rng.getrandbits(48):012x}"}
        events = [self._event(rng, "view", visitor, sku, ts, **extra)]
        if sku not in self.products:
            return events
        p_cart = visitor.cart_rate * 1.4 * _sigmoid(self._item_utility(visitor, sku) - 0.5)
        if rng.random() >= min(0.95, p_cart * (1.0 + lift)):
            return events
        now = ts + timedelta(seconds=rng.randint(20, 180))
        price = self.products[sku]["price"]
        events.append(self._event(rng, "add_to_cart", visitor, sku, now, value=price, **extra))
        events.extend(self._checkout(rng, visitor, [sku], now + timedelta(seconds=90), 0.0, extra))
        return events

    def page_choice(self, rng: random.Random, visitor_id: str, skus: Sequence[str]) -> str:
        """Which of ``skus`` the visitor opens: multinomial logit over their true utilities."""
        weights = [
            math.exp(self.utility(visitor_id, s)) if s in self.products else 1e-6 for s in skus
        ]
        return rng.choices(list(skus), weights=weights, k=1)[0]

    # ----- responses to recommendations -----------------------------------------------------

    def react(
        self,
        visitor_id: str,
        skus: Sequence[str],
        *,
        ts: datetime,
        request_id: str,
        placement: str = "",
        variant: str | None = None,
        uplift: float | None = None,
        base_ctr: float = 0.35,
    ) -> list[dict]:
        """How the visitor responds to recommended ``skus`` shown at ``ts``.

        Returns an ``impression`` per shown SKU, then for each clicked SKU a ``click`` and a
        ``view``, possibly an ``add_to_cart``, and a ``purchase`` of the cart; all carry
        ``request_id`` and ``placement``. Unknown SKUs get an impression and no click.
        ``variant``/``uplift`` scale the click and purchase probabilities (true uplift).
        """
        visitor = self.visitor(visitor_id)
        rng = random.Random(f"{self.seed}:react:{visitor_id}:{request_id}:{ts.isoformat()}")
        lift = self.uplift_for(variant, uplift)
        extra = {
            "placement": placement,
            "request_id": request_id,
            "session_id": f"s_{rng.getrandbits(48):012x}",
        }
        events = []
        for position, sku in enumerate(skus):
            events.append(
                self._event(rng, "impression", visitor, sku, ts, position=position, **extra)
            )
        now = ts
        cart: list[str] = []
        for position, sku in enumerate(skus):
            if sku not in self.products:
                continue
            discount = 1.0 / math.log2(position + 2)
            p_click = min(
                0.95,
                base_ctr * discount * _sigmoid(self.utility(visitor_id, sku) - 1.5) * (1.0 + lift),
            )
            if rng.random() >= p_click:
                continue
            now += timedelta(seconds=rng.randint(3, 40))
            events.append(self._event(rng, "click", visitor, sku, now, position=position, **extra))
            events.append(
                self._event(
                    rng,
                    "view",
                    visitor,
                    sku,
                    now + timedelta(seconds=1),
                    position=position,
                    **extra,
                )
            )
            now += timedelta(seconds=rng.randint(20, 120))
            p_cart = visitor.cart_rate * 1.4 * _sigmoid(self._item_utility(visitor, sku) - 0.5)
            if rng.random() < p_cart:
                value = self.products[sku]["price"]
                events.append(
                    self._event(
                        rng,
                        "add_to_cart",
                        visitor,
                        sku,
                        now,
                        value=value,
                        position=position,
                        **extra,
                    )
                )
                cart.append(sku)
        events.extend(self._checkout(rng, visitor, cart, now + timedelta(seconds=90), lift, extra))
        return events


def event_as_json(event: dict) -> dict:
    """The event with ``ts`` as an ISO 8601 string (for the storefront events API)."""
    out = dict(event)
    out["ts"] = event["ts"].isoformat()
    return out
