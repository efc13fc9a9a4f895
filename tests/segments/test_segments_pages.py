"""The Segments dashboard pages: cards, a segment, a visitor, rules, merge, erasure, privacy."""

from __future__ import annotations

import pytest
from django.utils.html import escape

pytestmark = pytest.mark.django_db


@pytest.fixture
def found(shop, load_traffic):
    from recsys.segments.services import segments_discover

    sim = load_traffic(shop.merchant, visitors=80, days=20)
    segments_discover(merchant=shop.merchant, k_range=range(3, 6))
    return sim


def test_segments_page_shows_named_segment_cards(client, shop, found):
    from recsys.segments.models import Segment

    client.force_login(shop.reviewer)
    page = client.get(f"/m/{shop.merchant.slug}/segments/").content.decode()
    for segment in Segment.objects.filter(merchant=shop.merchant, is_active=True):
        assert escape(segment.name) in page
    assert "silhouette" in page and "converts" in page and "average order" in page
    assert "Find segments now" not in page  # reviewers read, they do not run jobs


def test_segment_and_visitor_pages(client, shop, found):
    from recsys.segments.models import Segment

    client.force_login(shop.editor)
    segment = Segment.objects.filter(merchant=shop.merchant, is_active=True).first()
    page = client.get(f"/m/{shop.merchant.slug}/segments/{segment.pk}/").content.decode()
    assert escape(segment.name) in page and "How it differs" in page
    visitor = segment.memberships.first().visitor_id
    assert visitor in page
    page = client.get(f"/m/{shop.merchant.slug}/visitors/{visitor}/").content.decode()
    assert "Recent events" in page and "What each placement would show" in page
    assert escape(segment.name) in page
    assert "Erase this visitor" not in page  # only owners erase
    response = client.get(f"/m/{shop.merchant.slug}/visitors/?visitor_id={visitor}")
    assert response.status_code == 302 and response.url.endswith(f"/visitors/{visitor}/")


def test_editor_renames_merges_and_adds_a_rule(client, shop, found):
    from recsys.segments.models import Segment

    client.force_login(shop.editor)
    base = f"/m/{shop.merchant.slug}/segments"
    first, second = Segment.objects.filter(merchant=shop.merchant, kind="found")[:2]
    client.post(f"{base}/{first.pk}/rename/", {"name": "Loyal fans"})
    first.refresh_from_db()
    assert first.name == "Loyal fans"
    client.post(f"{base}/merge/", {"segment_ids": [first.pk, second.pk], "name": ""})
    second.refresh_from_db()
    assert not second.is_active and second.merged_into_id == first.pk
    response = client.post(
        f"{base}/rules/",
        {"name": "Nobody", "field": "country", "op": "eq", "value": "XX"},
        follow=True,
    )
    assert "matches no visitor yet" in response.content.decode()
    assert Segment.objects.get(merchant=shop.merchant, name="Nobody").size == 0


def test_owner_erases_a_visitor_from_the_dashboard(client, shop, found):
    from merchandising.tracking.models import Event
    from recsys.segments.models import ErasureLog

    visitor = found.visitors[0].visitor_id
    while not Event.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists():
        visitor = found.visitors[found.visitors.index(found.visitor(visitor)) + 1].visitor_id
    client.force_login(shop.editor)
    assert client.post(f"/m/{shop.merchant.slug}/visitors/{visitor}/erase/").status_code == 403
    client.force_login(shop.owner)
    response = client.post(f"/m/{shop.merchant.slug}/visitors/{visitor}/erase/", follow=True)
    assert f"Erased visitor {visitor}" in response.content.decode()
    assert not Event.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists()
    assert ErasureLog.objects.get(merchant=shop.merchant).via == "dashboard"
    page = client.get(f"/m/{shop.merchant.slug}/visitors/{visitor}/").content.decode()
    assert "Nothing is stored about this visitor" in page
    client.post(f"/m/{shop.merchant.slug}/segments/privacy/", {"event_retention_days": "90"})
    assert (
        "Keep raw events for" in client.get(f"/m/{shop.merchant.slug}/segments/").content.decode()
    )


def test_other_merchants_segments_are_404(client, shop, other_shop, found):
    from recsys.segments.models import Segment

    segment = Segment.objects.filter(merchant=shop.merchant).first()
    client.force_login(other_shop.owner)
    base = f"/m/{other_shop.merchant.slug}/segments"
    assert client.get(f"{base}/{segment.pk}/").status_code == 404
    assert client.post(f"{base}/{segment.pk}/rename/", {"name": "x"}).status_code == 404
    assert client.post(f"{base}/{segment.pk}/archive/").status_code == 404
    assert client.post(
        f"{base}/merge/", {"segment_ids": [segment.pk, segment.pk + 1]}
    ).status_code in (302, 404)
    segment.refresh_from_db()
    assert segment.is_active and segment.name != "x"
