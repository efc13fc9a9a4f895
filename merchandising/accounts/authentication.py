"""How API callers prove who they are.

Merchant API: `Authorization: Bearer sk_...` (or the dashboard session). Storefront API:
`X-Storefront-Key: pk_...`. A publishable key never opens the merchant API and a secret key is not
accepted on storefront routes, so a key leaked from a shop's page can only read public data and
write events.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .keys import key_kind
from .services import api_key_authenticate


class ApiKeyPrincipal:
    """The `request.user` of a call made with an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key) -> None:
        self.api_key = api_key
        self.merchant = api_key.merchant

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}..."


class SecretKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("Use the header `Authorization: Bearer sk_...`.")
        raw = raw.strip()
        kind = key_kind(raw)
        if kind == "publishable":
            raise exceptions.PermissionDenied(
                "Publishable keys (pk_) only work on /api/v1/storefront/ routes; use a secret key."
            )
        if kind != "secret":
            raise exceptions.AuthenticationFailed(
                "Unknown API key format; secret keys start with sk_."
            )
        key = api_key_authenticate(raw=raw, kind="secret")
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is invalid or has been revoked.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="merchlab"'


class PublishableKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_STOREFRONT_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header, "").strip()
        if not raw:
            raise exceptions.NotAuthenticated(
                "Send your publishable key in the X-Storefront-Key header."
            )
        if key_kind(raw) != "publishable":
            raise exceptions.AuthenticationFailed(
                "Storefront routes take a publishable key (pk_...); never put a secret key in a shop page."
            )
        key = api_key_authenticate(raw=raw, kind="publishable")
        if key is None:
            raise exceptions.AuthenticationFailed(
                "This publishable key is invalid or has been revoked."
            )
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return "X-Storefront-Key"


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchandising.accounts.authentication.SecretKeyAuthentication"
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Secret key sk_..."}


class PublishableKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchandising.accounts.authentication.PublishableKeyAuthentication"
    name = "publishableKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Storefront-Key"}
