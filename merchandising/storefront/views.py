"""The demo storefront: a small shop page that embeds the widget exactly as a merchant would.

`/storefront-demo/<merchant_slug>/` (home with the "home" placement and a product grid),
`?sku=SKU` (a product page with "product_similar"), and a cart with "cart_complete". Members of
the merchant only. The page needs a publishable key in its HTML, like a real shop, and this
app's origin among the merchant's storefront origins (the widget POSTs events from it). A GET
never writes: until an owner sets the page up (one POST from the page: the key "Demo storefront
page" and the origin), it says what is missing instead of showing the widget.
"""

from __future__ import annotations

from django.shortcuts import redirect
from django.views.generic import TemplateView

from merchandising.catalog.models import Product
from merchandising.catalog.selectors import live_copy_values
from merchandising.dashboard.base import MerchantPageMixin

from .selectors import demo_storefront_key
from .services import demo_storefront_setup


def _origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


class DemoStorefrontView(MerchantPageMixin, TemplateView):
    template_name = "storefront/demo.html"
    required_role = "read"
    write_role = "owner"

    def post(self, request, *args, **kwargs):
        demo_storefront_setup(merchant=request.merchant, user=request.user, origin=_origin(request))
        return redirect(request.get_full_path())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        origin = _origin(self.request)
        origin_ok = origin in (merchant.storefront_origins or [])
        key = demo_storefront_key(merchant)
        active = Product.objects.filter(merchant=merchant, status=Product.Status.ACTIVE)
        sku = self.request.GET.get("sku", "").strip()
        product = active.filter(sku=sku).first() if sku else None
        description = ""
        if product is not None:
            value = live_copy_values(merchant, [product.pk]).get(product.pk, {}).get("description")
            description = value if isinstance(value, str) else ""
        context.update(
            publishable_key=key or "",
            api_origin=origin,
            origin_ok=origin_ok,
            needs_setup=key is None or not origin_ok,
            product=product,
            description=description,
            grid=list(active.order_by("-created_at", "sku")[:12]) if product is None else [],
        )
        return context
