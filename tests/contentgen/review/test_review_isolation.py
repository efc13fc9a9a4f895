"""The foundation's tenant-isolation walk, run over review's routes alone (the full walk also
covers them; this keeps review's guarantee checked while other areas register their ids)."""

from __future__ import annotations

import pytest

from tests.foundation import test_tenant_isolation as walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_routes_only(monkeypatch):
    every = walk.all_routes()
    mine = [r for r in every if "review" in r]
    assert len(mine) >= 15
    monkeypatch.setattr(walk, "all_routes", lambda: mine)
    # The walk needs at least this many routes of each family; review has fewer API routes
    # than the whole app, so count its own.
    return mine


def test_review_routes_need_only_known_ids(review_routes_only):
    walk.test_every_route_is_covered()


def test_review_pages_never_reach_another_merchant(client, two_shops, review_routes_only):
    walk.test_dashboard_pages_never_reach_another_merchant(client, two_shops)


def test_review_api_never_reaches_another_merchant(api, two_shops, review_routes_only):
    walk.test_api_never_reaches_another_merchant(api, two_shops)


two_shops = walk.two_shops
