"""The demo storefront: a small shop page that embeds the widget exactly as a merchant would.

`/storefront-demo/<merchant_slug>/` (home with the "home" placement and a product grid),
`?sku=SKU` (a product page with "product_similar"), and a cart with "cart_complete". Members of
the merchant only. The page needs a publishable key in its HTML, like a real shop: the first
visit creates one named "Demo storefront page" and keeps its plain text in the visitor's
server-side session (plain keys are never stored in the database). Events are POSTed with the
page's Origin, so an editor's first visit adds this app's origin to the merchant's storefront
origins.
"""

from __future__ import annotations

from django.views.generic import TemplateView

from merchandising.accounts.keys import key_hash
from merchandising.accounts.models import ApiKey, role_allows
from merchandising.accounts.services import api_key_create, merchant_update_origins
from merchandising.catalog.models import Product
from merchandising.catalog.selectors import live_copy_values
from merchandising.dashboard.base import MerchantPageMixin

DEMO_KEY_NAME = "Demo storefront page"


def demo_publishable_key(request, merchant) -> str:
    session_key = f"storefront_demo_key:{merchant.pk}"
    raw = request.session.get(session_key)
    if (
        raw
        and ApiKey.objects.filter(
            merchant=merchant, key_hash=key_hash(raw), revoked_at__isnull=True
        ).exists()
    ):
        return raw
    _, raw = api_key_create(
        merchant=merchant, name=DEMO_KEY_NAME, kind=ApiKey.Kind.PUBLISHABLE, created_by=request.user
    )
    request.session[session_key] = raw
    return raw


class DemoStorefrontView(MerchantPageMixin, TemplateView):
    template_name = "storefront/demo.html"
    required_role = "read"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        origin = f"{self.request.scheme}://{self.request.get_host()}"
        origin_ok = origin in (merchant.storefront_origins or [])
        if not origin_ok and role_allows(self.request.role, "editor"):
            merchant_update_origins(
                merchant=merchant, origins=[*merchant.storefront_origins, origin]
            )
            origin_ok = True
        active = Product.objects.filter(merchant=merchant, status=Product.Status.ACTIVE)
        sku = self.request.GET.get("sku", "").strip()
        product = active.filter(sku=sku).first() if sku else None
        description = ""
        if product is not None:
            value = live_copy_values(merchant, [product.pk]).get(product.pk, {}).get("description")
            description = value if isinstance(value, str) else ""
        context.update(
            publishable_key=demo_publishable_key(self.request, merchant),
            api_origin=origin,
            origin_ok=origin_ok,
            product=product,
            description=description,
            grid=list(active.order_by("-created_at", "sku")[:12]) if product is None else [],
        )
        return context
