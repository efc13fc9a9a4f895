"""Visitor profiles from behaviour (pure: no Django).

A profile condenses a visitor's events into what a merchant reasons about:

* RFM: recency (days since the last event and since the last purchase), frequency (number of
  orders: purchased lines grouped by session, or when no session is known, lines bought within
  30 minutes of each other) and
  monetary value (sum of purchase values). RFM comes from direct marketing (Hughes, "Strategic
  Database Marketing", 1994; Fader, Hardie & Lee, "RFM and CLV", J. Marketing Research 2005).
* Tastes: share of attention per top-level category (views 1, clicks 2, carts 3, purchases 5),
  favourite categories and brands, and the price band: the visitor's mean price position inside
  each product's own category (percentile of its price among that category's prices), so a
  cheap tent and a cheap notebook both read as "budget".
* Context: the device and country seen most often, when events carry them.

Input events are dicts with ``type``, ``visitor_id``, ``sku``, ``ts`` (datetime), ``value`` and
optionally ``session_id``, ``device``, ``country`` (the simulator's and the tracking app's shape).
Products are dicts with ``sku``, ``category``, ``brand``, ``price``.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

ATTENTION_WEIGHTS = {"view": 1.0, "click": 2.0, "add_to_cart": 3.0, "purchase": 5.0}
PRICE_BANDS = (("budget", 0.4), ("mid-range", 0.62), ("premium", 1.01))  # upper bounds


def top_level(category: str) -> str:
    return category.split(">")[0].strip() if category else ""


def price_band(position: float | None) -> str:
    """Name of a mean price percentile (0 cheapest in its category ... 1 dearest)."""
    if position is None:
        return ""
    for name, upper in PRICE_BANDS:
        if position < upper:
            return name
    return PRICE_BANDS[-1][0]


@dataclass
class Profile:
    visitor_id: str
    first_seen: datetime
    last_seen: datetime
    last_purchase: datetime | None = None
    recency_days: float = 0.0
    purchase_recency_days: float | None = None
    frequency: int = 0  # orders
    monetary: float = 0.0
    views: int = 0
    clicks: int = 0
    carts: int = 0
    purchases: int = 0  # purchased lines
    orders_90d: int = 0
    category_shares: dict[str, float] = field(default_factory=dict)
    top_categories: list[str] = field(default_factory=list)
    top_brands: list[str] = field(default_factory=list)
    price_position: float | None = None
    price_band: str = ""
    device: str = ""
    country: str = ""

    @property
    def converted(self) -> bool:
        return self.frequency > 0

    @property
    def average_order_value(self) -> float:
        return self.monetary / self.frequency if self.frequency else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("first_seen", "last_seen", "last_purchase"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        out["converted"] = self.converted
        out["average_order_value"] = round(self.average_order_value, 2)
        return out


def price_positions(products: Iterable[Mapping]) -> dict[str, float]:
    """sku -> mid-rank percentile of its price among the products of its category (0..1)."""
    by_category: dict[str, list[float]] = defaultdict(list)
    items = [(p["sku"], p.get("category", ""), float(p["price"])) for p in products]
    for _, category, price in items:
        by_category[category].append(price)
    for prices in by_category.values():
        prices.sort()
    out = {}
    for sku, category, price in items:
        prices = by_category[category]
        below = bisect.bisect_left(prices, price)
        equal = bisect.bisect_right(prices, price) - below
        out[sku] = (below + 0.5 * equal) / len(prices)
    return out


ORDER_GAP = timedelta(minutes=30)


def _orders(lines: list[tuple[datetime, str, float]]) -> list[tuple[datetime, float]]:
    """Group purchased lines into orders: same session, or (no session known) bought within
    ``ORDER_GAP`` of the previous line. Returns (time, value) per order, oldest first."""
    out: list[list] = []
    last_ts, last_session = None, None
    for ts, session, value in sorted(lines, key=lambda x: x[0]):
        same = last_ts is not None and (
            session == last_session if session or last_session else ts - last_ts <= ORDER_GAP
        )
        if same:
            out[-1][1] += value
        else:
            out.append([ts, value])
        last_ts, last_session = ts, session
    return [(ts, value) for ts, value in out]


def build_profiles(
    events: Iterable[Mapping],
    products: Iterable[Mapping],
    *,
    now: datetime,
    top_n: int = 3,
) -> dict[str, Profile]:
    """Profiles of every visitor who has at least one event (impressions alone do not count)."""
    products = list(products)
    info = {p["sku"]: p for p in products}
    positions = price_positions(products)

    seen: dict[str, list[datetime]] = {}
    counts: dict[str, Counter] = defaultdict(Counter)
    attention: dict[str, Counter] = defaultdict(Counter)
    brand_attention: dict[str, Counter] = defaultdict(Counter)
    price_sum: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    purchases: dict[str, list[tuple[datetime, str, float]]] = defaultdict(list)
    devices: dict[str, Counter] = defaultdict(Counter)
    countries: dict[str, Counter] = defaultdict(Counter)

    for e in events:
        kind = e["type"]
        if kind not in ATTENTION_WEIGHTS:
            continue
        vid = e["visitor_id"]
        ts = e["ts"]
        span = seen.get(vid)
        if span is None:
            seen[vid] = [ts, ts]
        else:
            span[0] = min(span[0], ts)
            span[1] = max(span[1], ts)
        counts[vid][kind] += 1
        if e.get("device"):
            devices[vid][e["device"]] += 1
        if e.get("country"):
            countries[vid][e["country"]] += 1
        product = info.get(e.get("sku"))
        weight = ATTENTION_WEIGHTS[kind]
        if product is not None:
            attention[vid][top_level(product.get("category", ""))] += weight
            if product.get("brand"):
                brand_attention[vid][product["brand"]] += weight
            acc = price_sum[vid]
            acc[0] += weight * positions[product["sku"]]
            acc[1] += weight
        if kind == "purchase":
            purchases[vid].append((ts, e.get("session_id") or "", float(e.get("value") or 0.0)))

    profiles = {}
    for vid, (first, last) in seen.items():
        c = counts[vid]
        total = sum(attention[vid].values())
        shares = {cat: w / total for cat, w in attention[vid].items()} if total else {}
        acc = price_sum[vid]
        position = acc[0] / acc[1] if acc[1] else None
        order_list = _orders(purchases[vid])
        last_purchase = order_list[-1][0] if order_list else None
        profile = Profile(
            visitor_id=vid,
            first_seen=first,
            last_seen=last,
            last_purchase=last_purchase,
            recency_days=max(0.0, (now - last).total_seconds() / 86400),
            purchase_recency_days=(
                max(0.0, (now - last_purchase).total_seconds() / 86400) if last_purchase else None
            ),
            frequency=len(order_list),
            monetary=round(sum(v for _, v in order_list), 2),
            views=c["view"],
            clicks=c["click"],
            carts=c["add_to_cart"],
            purchases=c["purchase"],
            orders_90d=sum(1 for when, _ in order_list if (now - when).days < 90),
            category_shares={k: round(v, 4) for k, v in sorted(shares.items())},
            top_categories=[k for k, _ in attention[vid].most_common(top_n)],
            top_brands=[k for k, _ in brand_attention[vid].most_common(top_n)],
            price_position=round(position, 4) if position is not None else None,
            price_band=price_band(position),
            device=devices[vid].most_common(1)[0][0] if devices[vid] else "",
            country=countries[vid].most_common(1)[0][0] if countries[vid] else "",
        )
        profiles[vid] = profile
    return profiles
