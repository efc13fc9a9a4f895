"""CORS for storefront routes: a browser may read data from them only from an origin that some
merchant configured. The view then checks that the origin belongs to the key's own merchant
(StorefrontAPIView), so one merchant's origins never open another merchant's data.

A preflight from any origin is answered (GET and POST, the key and content-type headers, never
credentials) so that the browser sends the real request and the view can refuse it with a reason
the page can read (`api_base._let_the_browser_read_a_refusal`); the preflight itself opens no data
and no write: the view checks the origin before it reads the body or the key's rate limit."""

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
    if not origin:
        return False
    if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
        return True
    return origin in all_origins()


check_request_enabled.connect(origin_allowed, dispatch_uid="merchlab-storefront-cors")
