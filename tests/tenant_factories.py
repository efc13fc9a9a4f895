"""Object kinds of later areas for the tenant-isolation walk (tests/foundation/test_tenant_isolation.py).

Each entry: URL parameter name -> function(shop) giving the value for an object of that shop.
Areas add their own entries here (edit additively)."""

from __future__ import annotations


def _draft(shop):
    from contentgen.models import CopyDraft
    from tests.contentgen.review.drafts import make_draft

    existing = CopyDraft.objects.filter(merchant=shop.merchant).first()
    if existing:
        return existing.pk
    product = shop.merchant.products.first()
    if product is None:
        from merchandising.catalog.services import product_bulk_upsert

        product_bulk_upsert(
            merchant=shop.merchant,
            items=[
                {
                    "sku": f"{shop.merchant.slug.upper()}-SECRET",
                    "title": f"{shop.merchant.slug} secret product",
                    "price": "10",
                    "copy": {"description": f"{shop.merchant.slug} secret copy"},
                }
            ],
        )
        product = shop.merchant.products.first()
    return make_draft(product, "seo_title", f"{shop.merchant.slug} secret product title").pk


EXTRA_FACTORIES = {
    "draft_id": _draft,
}
