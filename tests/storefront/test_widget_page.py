"""The dashboard's widget page: the embed snippet with the merchant's real publishable key (never
a secret key), an offer to create one where only hashed keys exist, and the origin check."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError

from merchandising.accounts.models import ApiKey
from merchandising.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def widget_url(shop) -> str:
    return f"/m/{shop.merchant.slug}/recommendations/widget/"


def test_snippet_carries_the_real_publishable_key_and_never_a_secret_one(client, shop):
    _, secret = api_key_create(merchant=shop.merchant, name="server 2", kind="secret")
    client.force_login(shop.reviewer)  # every member may see it: the key is public by design
    page = client.get(widget_url(shop)).content.decode()
    assert f'data-merchlab-key="{shop.publishable_key}"' in page
    assert 'data-merchlab-placement="home"' in page
    assert "/static/storefront/merchlab-widget.js" in page
    assert 'data-copy-target="embed-snippet"' in page
    assert shop.secret_key not in page and secret not in page
    assert not re.search(r"sk_[A-Za-z0-9_-]{20}", page)


def test_only_publishable_keys_keep_their_plain_text(shop):
    keys = {k.kind: k for k in ApiKey.objects.filter(merchant=shop.merchant)}
    assert keys["publishable"].publishable_value == shop.publishable_key
    assert keys["secret"].publishable_value is None
    with pytest.raises(IntegrityError):
        ApiKey.objects.filter(pk=keys["secret"].pk).update(publishable_value=shop.secret_key)


def test_a_revoked_key_leaves_the_snippet(client, shop):
    from merchandising.accounts.services import api_key_revoke

    old = ApiKey.objects.get(merchant=shop.merchant, kind="publishable")
    api_key_revoke(merchant=shop.merchant, key_id=old.pk)
    client.force_login(shop.owner)
    page = client.get(widget_url(shop)).content.decode()
    assert shop.publishable_key not in page
    assert "no publishable key yet" in page and "Create a new publishable key" in page


def test_hashed_only_keys_get_an_offer_to_create_a_new_one_by_post(client, shop):
    # A key created before plain publishable keys were kept exists only as a hash.
    ApiKey.objects.filter(merchant=shop.merchant).update(publishable_value=None)
    client.force_login(shop.editor)
    page = client.get(widget_url(shop)).content.decode()
    assert "data-merchlab-key" not in page and "created before Merchlab kept them" in page
    assert "Create a new publishable key" not in page  # owners only
    assert client.post(widget_url(shop)).status_code == 403

    client.force_login(shop.owner)
    before = ApiKey.objects.filter(merchant=shop.merchant).count()
    client.get(widget_url(shop))
    assert ApiKey.objects.filter(merchant=shop.merchant).count() == before  # a GET never writes
    assert "Create a new publishable key" in client.get(widget_url(shop)).content.decode()
    response = client.post(widget_url(shop))
    assert response.status_code == 302
    new = ApiKey.objects.filter(merchant=shop.merchant, kind="publishable").first()
    assert new.publishable_value.startswith("pk_") and new.name == "Widget"
    page = client.get(widget_url(shop)).content.decode()
    assert f'data-merchlab-key="{new.publishable_value}"' in page


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        ("https://acme.shop.test", "This origin is allowed"),
        ("https://ACME.shop.test/", "This origin is allowed"),  # normalised as when saved
        ("https://evil.example", "This origin is not allowed"),
        ("https://globex.shop.test", "This origin is not allowed"),  # another merchant's
    ],
)
def test_origin_check_says_allowed_or_not(client, shop, other_shop, origin, says):
    client.force_login(shop.reviewer)
    page = client.get(widget_url(shop), {"origin": origin}).content.decode()
    assert says in page
    assert ("This origin is not allowed" in page) == (says == "This origin is not allowed")


def test_origin_check_explains_input_that_is_not_an_origin(client, shop):
    client.force_login(shop.reviewer)
    response = client.get(widget_url(shop), {"origin": "ftp://shop/path"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not an origin like https://shop.example.com" in page
    assert "This origin is" not in page
