"""Every write to merchants, memberships, invitations and API keys."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .keys import key_generate, key_hash
from .models import ApiKey, Invitation, Membership, Merchant, Role

User = get_user_model()


@transaction.atomic
def merchant_create(
    *, name: str, slug: str, owner=None, storefront_origins: list[str] | None = None
) -> Merchant:
    merchant = Merchant(name=name, slug=slug, storefront_origins=storefront_origins or [])
    merchant.full_clean()
    merchant.save()
    if owner is not None:
        membership_set(merchant=merchant, user=owner, role=Role.OWNER)
    return merchant


@transaction.atomic
def merchant_update_origins(*, merchant: Merchant, origins: list[str]) -> Merchant:
    from .validation import origin_normalize

    merchant.storefront_origins = sorted({origin_normalize(o) for o in origins if o.strip()})
    merchant.full_clean()
    merchant.save(update_fields=["storefront_origins"])
    api_key_forget(keys=merchant.api_keys.all())
    cache.delete("storefront:all-origins")
    return merchant


@transaction.atomic
def membership_set(*, merchant: Merchant, user, role: str) -> Membership:
    """Give ``user`` the ``role`` at ``merchant``. Refuses to demote the last owner (as removing
    them is refused): a shop without an owner could never manage its keys or staff again."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    current = Membership.objects.select_for_update().filter(merchant=merchant, user=user).first()
    if current is not None and current.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.select_for_update().filter(merchant=merchant, role=Role.OWNER)
        if len(owners) <= 1:
            raise ValidationError(
                {"role": "A merchant needs at least one owner: make someone else owner first."}
            )
    membership, _ = Membership.objects.update_or_create(
        merchant=merchant, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def membership_remove(*, merchant: Merchant, membership_id: int) -> None:
    membership = Membership.objects.select_for_update().get(merchant=merchant, pk=membership_id)
    if membership.role == Role.OWNER and (
        Membership.objects.filter(merchant=merchant, role=Role.OWNER).count() <= 1
    ):
        raise ValidationError("A merchant needs at least one owner.")
    membership.delete()


def invitation_create(
    *, merchant: Merchant, email: str, role: str, invited_by, base_url: str
) -> Invitation:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation(
            merchant=merchant,
            email=email.strip().lower(),
            role=role,
            token_hash=key_hash(token),
            invited_by=invited_by,
            expires_at=timezone.now() + timedelta(days=settings.MERCHLAB_INVITATION_DAYS),
        )
        invitation.full_clean()
        invitation.save()
        link = base_url.rstrip("/") + reverse("invitation_accept", args=[token])
        transaction.on_commit(
            lambda: send_mail(
                subject=f"You are invited to {merchant.name} on Merchlab",
                message=(
                    f"{invited_by} invited you to join {merchant.name} as {role}.\n\n"
                    f"Accept within {settings.MERCHLAB_INVITATION_DAYS} days: {link}\n"
                ),
                from_email=None,
                recipient_list=[invitation.email],
            )
        )
    return invitation


def invitation_lookup(*, token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("merchant").filter(token_hash=key_hash(token)).first()
    )
    if (
        invitation is None
        or invitation.accepted_at
        or invitation.revoked_at
        or invitation.expires_at < timezone.now()
    ):
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    invitation = invitation_lookup(token=token)
    if invitation is None:
        raise ValidationError("This invitation is invalid, expired or already used.")
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    existing = Membership.objects.filter(merchant=invitation.merchant, user=user).first()
    if existing and existing.role == Role.OWNER:
        return existing  # accepting a lesser role never demotes an owner
    return membership_set(merchant=invitation.merchant, user=user, role=invitation.role)


def api_key_create(
    *, merchant: Merchant, name: str, kind: str, created_by=None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text. A secret key's plain text is never stored
    and is shown once; a publishable key's is kept (it is public: every shop page carries it) so
    that the dashboard can show the embed snippet with it."""
    if kind not in ApiKey.Kind.values:
        raise ValidationError({"kind": f"Unknown key kind {kind!r}."})
    raw = key_generate(kind)
    key = ApiKey(
        merchant=merchant,
        name=name.strip() or kind,
        kind=kind,
        key_hash=key_hash(raw),
        prefix=raw[:10],
        publishable_value=raw if kind == ApiKey.Kind.PUBLISHABLE else None,
        created_by=created_by,
    )
    key.full_clean()
    key.save()
    return key, raw


def api_key_revoke(*, merchant: Merchant, key_id: int) -> ApiKey:
    key = ApiKey.objects.get(merchant=merchant, pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    api_key_forget(keys=[key])
    return key


# Keys are looked up on every storefront request; the answer is kept in the shared cache (Redis in
# production) for a short while and dropped the moment a key is revoked or its merchant changes.
KEY_CACHE_SECONDS = 30


def _key_cache_name(digest: str) -> str:
    return f"apikey:{digest}"


def api_key_forget(*, keys) -> None:
    """Drop cached look-ups of these keys (after a revoke or a change to their merchant)."""
    names = [_key_cache_name(k.key_hash) for k in keys]
    cache.delete_many(names)
    transaction.on_commit(lambda: cache.delete_many(names))


def api_key_authenticate(*, raw: str, kind: str) -> ApiKey | None:
    """The active key of this kind with this plain text, or None. Records the last-used time at
    most once a minute so that busy keys do not write on every request."""
    digest = key_hash(raw)
    name = _key_cache_name(digest)
    key = cache.get(name)
    if key is None:
        key = (
            ApiKey.objects.select_related("merchant")
            .filter(key_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if key is None:
            return None
        cache.set(name, key, KEY_CACHE_SECONDS)
    if key.kind != kind:
        return None
    now = timezone.now()
    if (
        key.last_used_at is None
        or (now - key.last_used_at).total_seconds() > settings.MERCHLAB_API_KEY_TOUCH_SECONDS
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        cache.set(name, key, KEY_CACHE_SECONDS)
    return key


def user_create(*, username: str, email: str, password: str):
    user = User(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user
