"""Platform operators decide drafts in the Django admin through the same services (logged)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from contentgen.models import CopyDraft
from contentgen.review.models import ReviewDecision
from merchandising.catalog.models import LiveCopy
from tests.contentgen.review.drafts import GOOD_SEO_TITLE, make_draft

pytestmark = pytest.mark.django_db


def test_admin_approve_and_reject_actions(client, shop, products):
    operator = get_user_model().objects.create_superuser(
        "operator", "op@merchlab.test", "pw-123456"
    )
    client.force_login(operator)
    good = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    flagged = make_draft(products[1], "seo_title", "Steel saucepan by Kuchen, 3 l")
    other = make_draft(products[2], "seo_title", GOOD_SEO_TITLE)
    changelist = "/admin/contentgen/copydraft/"
    assert client.get(changelist).status_code == 200

    response = client.post(
        changelist,
        {"action": "approve_drafts", "_selected_action": [good.pk, flagged.pk]},
        follow=True,
    )
    assert "Approved 1 draft." in response.content.decode()
    assert LiveCopy.objects.get(product=products[0], field="seo_title").value == GOOD_SEO_TITLE
    assert CopyDraft.objects.get(pk=flagged.pk).status == "pending"  # hard flag: skipped

    client.post(changelist, {"action": "reject_generic", "_selected_action": [other.pk]})
    decision = ReviewDecision.objects.get(draft=other)
    assert (decision.action, decision.reason, decision.actor) == ("reject", "generic", "operator")
    # the log is append-only: the admin shows it but cannot delete it
    assert client.get(f"/admin/review/reviewdecision/{decision.pk}/change/").status_code == 200
    deleted = client.post(f"/admin/review/reviewdecision/{decision.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert ReviewDecision.objects.filter(pk=decision.pk).exists()
