from __future__ import annotations

from .models import ApiKey, Invitation, Membership, Merchant
from .validation import origin_normalize


def memberships_for_user(user):
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user).select_related("merchant").order_by("merchant__name")
    )


def membership_for(user, merchant_slug: str) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.select_related("merchant")
        .filter(user=user, merchant__slug=merchant_slug)
        .first()
    )


def api_keys_list(merchant: Merchant):
    return ApiKey.objects.filter(merchant=merchant).select_related("created_by")


def publishable_keys_live(merchant: Merchant):
    return ApiKey.objects.filter(
        merchant=merchant, kind=ApiKey.Kind.PUBLISHABLE, revoked_at__isnull=True
    )


def publishable_key_for_embed(merchant: Merchant) -> ApiKey | None:
    """The newest live publishable key whose plain text is kept (keys created before it was kept
    exist only as a hash and cannot be shown), or None."""
    return (
        publishable_keys_live(merchant)
        .filter(publishable_value__isnull=False)
        .order_by("-created_at", "-pk")
        .first()
    )


def storefront_origin_check(merchant: Merchant, origin: str) -> tuple[str, bool]:
    """`origin` normalised, and whether the storefront API accepts pages from it for this
    merchant. Raises ValidationError for anything that is not an origin."""
    normalized = origin_normalize(origin)
    return normalized, normalized in (merchant.storefront_origins or [])


def staff_list(merchant: Merchant):
    return (
        Membership.objects.filter(merchant=merchant)
        .select_related("user")
        .order_by("user__username")
    )


def invitations_pending(merchant: Merchant):
    return Invitation.objects.filter(
        merchant=merchant, accepted_at__isnull=True, revoked_at__isnull=True
    )
