"""CORS for storefront routes: a browser may call them only from an origin that some merchant
configured. The view then checks that the origin belongs to the key's own merchant
(StorefrontAPIView), so one merchant's origins never open another merchant's data."""

import re

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.core.cache import cache

from merchandising.accounts.models import Merchant

CACHE_KEY = "storefront:all-origins"


def all_origins() -> set[str]:
    origins = cache.get(CACHE_KEY)
    if origins is None:
        origins = set()
        for values in Merchant.objects.values_list("storefront_origins", flat=True):
            origins.update(values or [])
        cache.set(CACHE_KEY, origins, 30)
    return origins


def origin_allowed(sender, request, **kwargs) -> bool:
    # django-cors-headers enables CORS for any path where a signal handler says yes, whatever
    # CORS_URLS_REGEX says: keep the merchant API and the dashboard closed to shop origins.
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request.headers.get("origin")
    return bool(origin) and origin in all_origins()


check_request_enabled.connect(origin_allowed, dispatch_uid="merchlab-storefront-cors")
