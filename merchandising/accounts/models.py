"""Merchants (tenants), the people who work for them, and API keys."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    REVIEWER = "reviewer", "Reviewer"


# What each role may do; a role includes the rights of those after it in this order only where
# listed. Owners do everything; editors change the catalog, generation, placements and experiments;
# reviewers approve copy and read everything else.
ROLE_RIGHTS: dict[str, set[str]] = {
    Role.OWNER: {"owner", "editor", "reviewer", "read"},
    Role.EDITOR: {"editor", "read"},
    Role.REVIEWER: {"reviewer", "read"},
}


def role_allows(role: str | None, needed: str) -> bool:
    """Whether `role` has the right `needed` ("owner", "editor", "reviewer" or "read")."""
    return bool(role) and needed in ROLE_RIGHTS.get(role, set())


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    storefront_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Origins (scheme://host[:port]) whose pages may call the storefront API.",
    )
    default_currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "merchant"], name="membership_unique_user_merchant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant} ({self.role})"


class Invitation(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        SECRET = "secret", "Secret (sk_): full merchant API"
        PUBLISHABLE = "publishable", "Publishable (pk_): storefront only"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The key is shown once; only its SHA-256 is stored. Keys carry 256 random bits, so a fast hash
    # is enough (there is nothing to brute-force, unlike a password).
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise the key.")
    # Publishable keys are public by design (every page of the shop carries one), so their plain
    # text is kept for the dashboard's embed snippet. Secret keys stay hash-only (constraint below).
    publishable_value = models.CharField(max_length=64, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="publishable") | models.Q(publishable_value__isnull=True),
                name="apikey_plain_value_publishable_only",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Lower-case letters, digits and dashes.")
