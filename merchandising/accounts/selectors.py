from __future__ import annotations

from .models import ApiKey, Invitation, Membership, Merchant


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
