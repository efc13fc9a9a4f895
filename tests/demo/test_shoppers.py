"""The shopper simulator: deterministic, consistent events, groups that really differ."""

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from merchandising.demo.catalog_data import generate_catalog, top_level
from merchandising.demo.shoppers import EVENT_TYPES, ShopperSimulator


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog()


@pytest.fixture(scope="module")
def sim(catalog):
    return ShopperSimulator(catalog, n_visitors=300, seed=11)


@pytest.fixture(scope="module")
def events(sim):
    return list(sim.simulate(days=30))


def test_same_seed_same_events(catalog):
    a = list(ShopperSimulator(catalog, n_visitors=40, seed=5).simulate(days=10))
    b = list(ShopperSimulator(catalog, n_visitors=40, seed=5).simulate(days=10))
    c = list(ShopperSimulator(catalog, n_visitors=40, seed=6).simulate(days=10))
    assert a and a == b
    assert a != c


def test_events_are_well_formed_and_in_time_order(sim, events, catalog):
    skus = {p["sku"] for p in catalog}
    visitors = set(sim.latent_segments())
    assert len(events) > 3000
    assert len({e["event_id"] for e in events}) == len(events)
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    for e in events:
        assert e["type"] in EVENT_TYPES
        assert e["visitor_id"] in visitors and e["sku"] in skus
        assert e["ts"].tzinfo is not None
        if e["type"] in ("purchase", "add_to_cart"):
            assert e["value"] > 0
        else:
            assert e["value"] is None
    kinds = Counter(e["type"] for e in events)
    assert kinds["view"] > kinds["add_to_cart"] > kinds["purchase"] > 0


def test_archived_and_out_of_stock_products_are_never_shown(events, catalog):
    unavailable = {p["sku"] for p in catalog if p["status"] != "active" or p["stock"] == 0}
    assert unavailable
    assert not unavailable & {e["sku"] for e in events}


def test_purchases_follow_a_cart_which_follows_a_view(events):
    viewed, carted = set(), set()
    for e in events:
        key = (e["visitor_id"], e["sku"], e["session_id"])
        if e["type"] == "view":
            viewed.add(key)
        elif e["type"] == "add_to_cart":
            assert key in viewed
            carted.add(key)
        elif e["type"] == "purchase":
            assert key in carted


def test_latent_groups_behave_differently(sim, events, catalog):
    price = {p["sku"]: float(p["price"]) for p in catalog}
    category = {p["sku"]: top_level(p["category"]) for p in catalog}
    segment = sim.latent_segments()
    assert len(set(segment.values())) >= 4
    views = defaultdict(Counter)
    spend = defaultdict(list)
    for e in events:
        g = segment[e["visitor_id"]]
        if e["type"] == "view":
            views[g][category[e["sku"]]] += 1
        if e["type"] == "purchase":
            spend[g].append(price[e["sku"]])
    favourite = {g: c.most_common(1)[0][0] for g, c in views.items()}
    assert favourite["value_home_cooks"] == "Kitchen"
    assert favourite["premium_outdoor_regulars"] == "Outdoor"
    assert favourite["tech_and_office"] == "Electronics"
    for c in views.values():  # each group concentrates its browsing
        assert c.most_common(1)[0][1] / sum(c.values()) > 0.3

    # Premium outdoor buyers pay more per item than bargain-hunting home cooks.
    def mean(xs):
        return sum(xs) / len(xs)

    assert mean(spend["premium_outdoor_regulars"]) > 2 * mean(spend["value_home_cooks"])


def test_visitors_keep_device_and_country(sim, events):
    for e in events[:500]:
        v = sim.visitor(e["visitor_id"])
        assert (e["device"], e["country"]) == (v.device, v.country)


def test_react_attributes_clicks_and_prefers_what_the_visitor_likes(sim):
    ts = datetime(2026, 3, 1, 12, tzinfo=UTC)
    liked_clicks = disliked_clicks = 0
    for i, v in enumerate(sim.visitors[:150]):
        ranked = sorted(sim.products, key=lambda s, vid=v.visitor_id: sim.utility(vid, s))
        for skus, liked in ((ranked[-5:][::-1], True), (ranked[:5], False)):
            out = sim.react(v.visitor_id, skus, ts=ts, request_id=f"r{i}-{liked}", placement="home")
            assert [e["sku"] for e in out if e["type"] == "impression"] == list(skus)
            assert all(e["request_id"] == f"r{i}-{liked}" and e["placement"] == "home" for e in out)
            clicks = sum(e["type"] == "click" for e in out)
            if liked:
                liked_clicks += clicks
            else:
                disliked_clicks += clicks
            clicked = {e["sku"] for e in out if e["type"] == "click"}
            assert {e["sku"] for e in out if e["type"] == "purchase"} <= clicked
    assert liked_clicks > 3 * max(1, disliked_clicks)


def test_react_is_deterministic(sim):
    v = sim.visitors[3].visitor_id
    ts = datetime(2026, 3, 1, tzinfo=UTC)
    skus = sim.best_skus(v, 6)
    assert sim.react(v, skus, ts=ts, request_id="x") == sim.react(v, skus, ts=ts, request_id="x")


def _conversion(sim, variant):
    """Share of sessions that end in a purchase, for every visitor on one day."""
    ts = datetime(2026, 3, 2, 10, tzinfo=UTC)
    bought = total = 0
    for v in sim.visitors:
        for k in range(4):
            out = sim.session(v.visitor_id, ts=ts, variant=variant, session_key=f"{variant}{k}")
            total += 1
            bought += any(e["type"] == "purchase" for e in out)
    return bought / total


def test_variant_uplift_is_real_and_a_a_has_none(catalog):
    sim = ShopperSimulator(catalog, n_visitors=300, seed=11, variant_uplift={"B": 0.5})
    control, treatment = _conversion(sim, "A"), _conversion(sim, "B")
    control_again = _conversion(sim, "A2")
    assert treatment > control * 1.25
    assert abs(control_again - control) < 0.25 * control
    assert sim.uplift_for("B") == 0.5 and sim.uplift_for("A") == 0.0
    assert sim.uplift_for("A", uplift=0.1) == 0.1
