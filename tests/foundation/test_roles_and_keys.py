"""Who may do what: roles in the dashboard and API, and API keys."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from merchandising.accounts.models import ApiKey, Membership
from merchandising.catalog.models import Product
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_reviewer_reads_but_cannot_edit_products(client, shop, products):
    login(client, shop.reviewer)
    url = reverse("dashboard:product", args=[shop.merchant.slug, products[0].pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"title": "Hijacked", "price": "1", "currency": "EUR", "stock": 1, "status": "active"}
    )
    assert response.status_code == 403
    products[0].refresh_from_db()
    assert products[0].title != "Hijacked"


def test_reviewer_cannot_edit_products_through_the_api_session(client, shop, products):
    login(client, shop.reviewer)
    response = client.patch(
        f"/api/v1/products/{products[0].sku}",
        {"title": "Hijacked"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/products/{products[0].sku}").status_code == 200


def test_only_owners_see_and_manage_keys_and_staff(client, shop):
    keys = reverse("dashboard:keys", args=[shop.merchant.slug])
    staff = reverse("dashboard:staff", args=[shop.merchant.slug])
    for user in (shop.reviewer, shop.editor):
        login(client, user)
        assert client.get(keys).status_code == 403
        assert client.post(keys, {"name": "mine", "kind": "secret"}).status_code == 403
        assert client.post(staff, {"email": "x@y.test", "role": "owner"}).status_code == 403
        client.logout()
    assert ApiKey.objects.filter(merchant=shop.merchant).count() == 2
    login(client, shop.owner)
    response = client.post(keys, {"name": "ERP sync", "kind": "secret"})
    assert response.status_code == 200
    raw = response.context["new_key"]["raw"]
    assert raw.startswith("sk_") and raw.encode() in response.content
    assert not ApiKey.objects.filter(key_hash=raw).exists()  # only the hash is stored
    assert raw.encode() not in client.get(keys).content  # shown once


def test_editor_edits_products_in_the_dashboard(client, shop, products):
    login(client, shop.editor)
    url = reverse("dashboard:product", args=[shop.merchant.slug, products[0].pk])
    response = client.post(
        url,
        {
            "title": "Copper saucepan, tin-lined",
            "brand": "Kuchen",
            "category": "Kitchen>Cookware",
            "price": "59.00",
            "currency": "EUR",
            "stock": 3,
            "status": "active",
            "tags": "copper, gift",
            "attributes": "material: copper\ncapacity: 2 l",
            "description": "Tin-lined copper.",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(pk=products[0].pk)
    assert (product.title, str(product.price), product.tags) == (
        "Copper saucepan, tin-lined",
        "59.00",
        ["copper", "gift"],
    )
    assert product.live_copy.get(field="description").value == "Tin-lined copper."


def test_publishable_key_cannot_call_the_merchant_api(api, shop, products):
    response = api.as_key(shop.publishable_key).get("/api/v1/products")
    assert response.status_code == 403
    assert "storefront" in response.json()["detail"]
    api.credentials()
    response = api.as_storefront(shop.publishable_key).get(
        f"/api/v1/storefront/products/{products[0].sku}"
    )
    assert response.status_code == 200


def test_secret_key_is_refused_on_storefront_routes(api, shop, products):
    response = api.as_storefront(shop.secret_key).get(
        f"/api/v1/storefront/products/{products[0].sku}"
    )
    assert response.status_code in (401, 403)


def test_revoked_key_stops_working_at_once(client, api, shop):
    api.as_key(shop.secret_key)
    assert api.get("/api/v1/products").status_code == 200
    key = ApiKey.objects.get(merchant=shop.merchant, kind="secret")
    login(client, shop.owner)
    client.post(reverse("dashboard:keys", args=[shop.merchant.slug]), {"revoke": key.pk})
    response = api.get("/api/v1/products")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_key_records_last_use(api, shop):
    key = ApiKey.objects.get(merchant=shop.merchant, kind="secret")
    assert key.last_used_at is None
    api.as_key(shop.secret_key).get("/api/v1/me")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_owner_invites_staff_who_join_with_the_role(
    client, shop, django_capture_on_commit_callbacks
):
    login(client, shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("dashboard:staff", args=[shop.merchant.slug]),
            {"email": "new@acme.test", "role": "reviewer"},
        )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@acme.test"]
    link = next(word for word in mail.outbox[0].body.split() if "/invitations/" in word)
    client.logout()
    path = link.split("testserver", 1)[-1]
    response = client.post(path, {"username": "newbie", "password": "a-long-enough-password"})
    assert response.status_code == 302
    membership = Membership.objects.get(merchant=shop.merchant, user__username="newbie")
    assert membership.role == "reviewer"
    # the link works once
    client.logout()
    assert b"not valid" in client.get(path).content


def test_password_reset_sends_a_working_link(client, shop):
    client.post(reverse("password_reset"), {"email": shop.owner.email})
    assert len(mail.outbox) == 1
    link = next(word for word in mail.outbox[0].body.split() if "/reset/" in word)
    path = link.split("testserver", 1)[-1]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    client.post(
        form_url, {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"}
    )
    assert client.login(username=shop.owner.username, password="brand-new-secret-42")


def test_repeated_failed_logins_are_throttled(client, shop):
    for _ in range(5):
        client.post(reverse("login"), {"username": shop.owner.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": shop.owner.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_a_merchant_keeps_at_least_one_owner(client, shop):
    login(client, shop.owner)
    own = Membership.objects.get(merchant=shop.merchant, user=shop.owner)
    response = client.post(
        reverse("dashboard:staff-change", args=[shop.merchant.slug, own.pk]),
        {"action": "remove"},
        follow=True,
    )
    assert b"at least one owner" in response.content
    assert Membership.objects.filter(pk=own.pk).exists()


def test_product_list_count_and_filters_follow_catalog_changes(client, api, shop, products):
    login(client, shop.reviewer)
    url = reverse("dashboard:products", args=[shop.merchant.slug])
    page = client.get(url).content.decode()
    assert "3 products" in page and "Garden &gt; Tools" not in page
    api.as_key(shop.secret_key).post(
        "/api/v1/products",
        {"sku": "RAKE-1", "title": "Rake", "price": "12", "category": "Garden > Tools"},
        format="json",
    )
    page = client.get(url).content.decode()
    assert "4 products" in page and "Garden &gt; Tools" in page  # count and filter menu updated


def test_password_spraying_from_one_address_is_throttled_per_account(client, shop):
    """Each sprayed account is throttled on its own; the others signing in from the same
    address (an office, or everyone behind the TLS proxy) are not locked out (issue 17)."""
    from django.contrib.auth import get_user_model

    sprayed = [f"user{i}" for i in range(3)]
    for name in sprayed:
        get_user_model().objects.create_user(name, f"{name}@x.test", PASSWORD)
    for guess in range(6):
        for name in sprayed:
            client.post(reverse("login"), {"username": name, "password": f"Summer202{guess}!"})
    for name in sprayed:
        response = client.post(reverse("login"), {"username": name, "password": PASSWORD})
        assert b"Too many failed sign-in attempts" in response.content
    response = client.post(
        reverse("login"), {"username": shop.owner.username, "password": PASSWORD}
    )
    assert response.status_code == 302
