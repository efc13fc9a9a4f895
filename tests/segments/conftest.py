"""Shared fixtures of the segments tests."""

from __future__ import annotations

import pytest

from merchandising.demo.catalog_data import generate_catalog
from merchandising.demo.shoppers import ShopperSimulator, event_as_json


def _load_traffic(merchant, *, visitors: int = 250, days: int = 30, seed: int = 7):
    from merchandising.catalog.services import product_bulk_upsert
    from merchandising.tracking.services import MAX_BATCH, events_ingest

    catalog = generate_catalog(240)
    product_bulk_upsert(
        merchant=merchant,
        items=[
            {**p, "price": str(p["price"]), "copy": {"description": p["description"]}}
            for p in catalog
        ],
    )
    sim = ShopperSimulator(catalog, n_visitors=visitors, seed=seed)
    events = [event_as_json(e) for e in sim.simulate(days=days)]
    for start in range(0, len(events), MAX_BATCH):
        result = events_ingest(merchant=merchant, events=events[start : start + MAX_BATCH])
        assert not result.errors
    return sim


@pytest.fixture
def load_traffic(db):
    """Load a simulated shop into a merchant: ``load_traffic(merchant, visitors=.., days=..)``
    upserts a demo catalog and ingests the simulator's events; returns the simulator."""
    return _load_traffic
