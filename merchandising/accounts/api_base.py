"""The one place where API requests are tied to a merchant.

`MerchantAPIView` resolves `request.merchant` and `request.role` once, from the secret key or the
dashboard session, and checks the role for writes. `StorefrontAPIView` does the same from a
publishable key and the request's Origin. Every merchant-scoped view subclasses one of them and
passes `request.merchant` to selectors and services, so an id from another merchant is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.cache import patch_vary_headers
from rest_framework import exceptions, generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from .authentication import ApiKeyPrincipal, PublishableKeyAuthentication
from .models import Role, role_allows
from .selectors import membership_for, memberships_for_user
from .throttling import StorefrontKeyThrottle, StorefrontVisitorThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Storefront refusals that a shop page's browser may read (bad or missing key, origin not allowed,
# rate limit): their body is only the reason, so they carry CORS headers for any origin.
STOREFRONT_REFUSALS = frozenset({401, 403, 429})


class MerchantPermission(permissions.BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not getattr(request, "merchant", None):
            return False
        needed = "read" if request.method in SAFE_METHODS else view.get_write_role()
        return role_allows(request.role, needed)


class MerchantAPIMixin:
    """Resolve the merchant from a secret key or the session (header X-Merchant picks among
    several memberships); writes need `write_role`."""

    permission_classes = [permissions.IsAuthenticated, MerchantPermission]
    write_role = "editor"

    def get_write_role(self) -> str:
        return self.write_role

    def initial(self, request, *args, **kwargs):
        # Authenticate first (DRF does this lazily), then tie the request to one merchant.
        self.perform_authentication(request)
        request.merchant, request.role = resolve_merchant(request)
        super().initial(request, *args, **kwargs)


def resolve_merchant(request):
    user = request.user
    if isinstance(user, ApiKeyPrincipal):
        return user.merchant, Role.OWNER
    if not getattr(user, "is_authenticated", False):
        return None, None
    slug = request.META.get("HTTP_X_MERCHANT") or request.session.get("merchant_slug")
    membership = membership_for(user, slug) if slug else None
    if membership is None:
        if request.META.get("HTTP_X_MERCHANT"):
            raise exceptions.NotFound("You are not a member of that merchant.")
        membership = memberships_for_user(user).first()
    if membership is None:
        return None, None
    return membership.merchant, membership.role


class MerchantAPIView(MerchantAPIMixin, APIView):
    pass


class MerchantGenericAPIView(MerchantAPIMixin, generics.GenericAPIView):
    pass


class StorefrontPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return getattr(request, "merchant", None) is not None


class StorefrontAPIView(APIView):
    """Public storefront routes: a publishable key, the merchant's own origins only, no writes to
    catalog, copy or experiments (events are the only thing a storefront may write)."""

    authentication_classes = [PublishableKeyAuthentication]
    permission_classes = [StorefrontPermission]
    throttle_classes = [StorefrontKeyThrottle, StorefrontVisitorThrottle]

    def initial(self, request, *args, **kwargs):
        _refuse_large_body(request)
        self.perform_authentication(request)
        principal = request.user
        request.merchant = principal.merchant if isinstance(principal, ApiKeyPrincipal) else None
        origin = request.META.get("HTTP_ORIGIN")
        if (
            request.merchant is not None
            and origin
            and origin not in request.merchant.storefront_origins
        ):
            raise exceptions.PermissionDenied(
                f"Origin {origin} is not allowed: it is not one of this merchant's storefront "
                "origins (an owner adds it in Merchlab's settings)."
            )
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        _let_the_browser_read_a_refusal(request, response)
        return response


def _let_the_browser_read_a_refusal(request, response) -> None:
    """Without CORS headers the browser hides a refusal from the shop page as a network error, and
    the widget cannot say why. A refusal's body is only the reason (`{"detail": ...}`, never data),
    so it may be read from any origin; no credentials are allowed. Data answers get CORS headers
    only for the merchant's own origins (`merchandising.storefront.cors`)."""
    origin = request.META.get("HTTP_ORIGIN")
    data = getattr(response, "data", None)
    if (
        origin
        and response.status_code in STOREFRONT_REFUSALS
        and isinstance(data, dict)
        and set(data) == {"detail"}
    ):
        response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ("Origin",))


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _refuse_large_body(request) -> None:
    """Storefront bodies are small (an events batch); refuse bigger ones before reading them."""
    limit = settings.MERCHLAB_STOREFRONT_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(
            f"The request body is {length:,} bytes; at most {limit:,} are accepted."
        )


def api_exception_handler(exc, context):
    """JSON errors that name the failing field: `{"detail": ..., "errors": {field: [messages]}}`."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        exc = exceptions.NotFound("Not found.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        first_field = next(iter(errors), "non_field_errors")
        first = errors.get(first_field)
        message = (
            first[0]
            if isinstance(first, list) and first and isinstance(first[0], str)
            else "Invalid input."
        )
        response.data = {"detail": f"{first_field}: {message}", "errors": errors}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def not_found() -> Response:
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
