"""Reads of the catalog, always scoped by merchant."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q, QuerySet

from .models import COPY_FIELDS, CopyRevision, LiveCopy, Product, SegmentCopy


def products_list(
    merchant,
    *,
    q: str = "",
    category: str = "",
    brand: str = "",
    status: str = "",
    stock: str = "",
) -> QuerySet[Product]:
    """Products filtered the way the dashboard and the API filter them. `category` matches the
    path and everything below it; `stock` is "in" or "out"."""
    qs = Product.objects.filter(merchant=merchant)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(sku__iexact=q) | Q(title__icontains=q) | Q(brand__icontains=q) | Q(sku__istartswith=q)
        )
    if category:
        # The category and the sub-categories it has, as equalities: `category IN (...)` with
        # one value lets the (merchant, category, sku) index hand rows over in SKU order, where
        # `category = x OR category LIKE 'x > %'` makes PostgreSQL walk the whole SKU index.
        qs = qs.filter(category__in=category_and_below(merchant, category))
    if brand:
        qs = qs.filter(brand=brand)
    if status:
        qs = qs.filter(status=status)
    if stock == "in":
        qs = qs.filter(stock__gt=0)
    elif stock == "out":
        qs = qs.filter(stock__lte=0)
    return qs


def product_get(merchant, sku: str) -> Product:
    return Product.objects.get(merchant=merchant, sku=sku)


def product_get_by_id(merchant, product_id: int) -> Product:
    return Product.objects.get(merchant=merchant, pk=product_id)


def product_live_copy(product: Product) -> dict:
    """Field -> {"value", "source", "updated_at", "is_list"} for the fields that have live copy."""
    return {
        c.field: {
            "value": c.value,
            "source": c.source,
            "updated_at": c.updated_at,
            "is_list": isinstance(c.value, list),
        }
        for c in LiveCopy.objects.filter(product=product)
    }


def live_copy_by_product(merchant, product_ids) -> dict[int, dict]:
    """product id -> {field: {"value", "source"}}, in one query (what the API list shows; no
    model instances, no per-product prefetch querysets)."""
    out: dict[int, dict] = {}
    for product_id, field, value, source in LiveCopy.objects.filter(
        merchant=merchant, product_id__in=product_ids
    ).values_list("product_id", "field", "value", "source"):
        out.setdefault(product_id, {})[field] = {"value": value, "source": source}
    return out


def live_copy_values(merchant, product_ids) -> dict[int, dict]:
    """product id -> {field: value}, in one query."""
    out: dict[int, dict] = {}
    for product_id, field, value in LiveCopy.objects.filter(
        merchant=merchant, product_id__in=product_ids
    ).values_list("product_id", "field", "value"):
        out.setdefault(product_id, {})[field] = value
    return out


def segment_copy_values(merchant, product_ids, segments) -> dict[int, dict]:
    """product id -> {field: value} of the copy written for any of `segments` (segment keys),
    in one query. When two of the segments have copy for the same field, the one that comes
    first in `segments` wins (callers pass a visitor's segments in a stable order)."""
    order = {key: i for i, key in enumerate(dict.fromkeys(str(s) for s in segments))}
    if not order:
        return {}
    rows = SegmentCopy.objects.filter(
        merchant=merchant, product_id__in=product_ids, segment__in=list(order)
    ).values_list("product_id", "field", "segment", "value")
    out: dict[int, dict] = {}
    for product_id, field, _segment, value in sorted(rows, key=lambda r: -order[r[2]]):
        out.setdefault(product_id, {})[field] = value
    return out


def segment_copy_exists(merchant, product_ids) -> set[str]:
    """The segment keys that have copy for any of these products (empty: nothing to target)."""
    return set(
        SegmentCopy.objects.filter(merchant=merchant, product_id__in=product_ids)
        .values_list("segment", flat=True)
        .distinct()
    )


def copy_history(product: Product, field: str | None = None) -> QuerySet[CopyRevision]:
    qs = CopyRevision.objects.filter(product=product).select_related("created_by")
    return qs.filter(field=field) if field else qs


def products_by_skus(merchant, skus) -> QuerySet[Product]:
    return Product.objects.filter(merchant=merchant, sku__in=list(skus)).order_by("sku")


def live_copy_by_scope(product: Product) -> dict[tuple[str, str], dict]:
    """(field, segment) -> {"value", "revision_id"} of what is live now: the general copy under
    segment "" and each segment's own copy under its key."""
    out = {
        (c.field, ""): {"value": c.value, "revision_id": c.revision_id}
        for c in LiveCopy.objects.filter(product=product)
    }
    for c in SegmentCopy.objects.filter(product=product):
        out[(c.field, c.segment)] = {"value": c.value, "revision_id": c.revision_id}
    return out


def catalog_version(merchant) -> int:
    """A number that changes whenever the merchant's products change (catalog services bump it),
    so derived figures can be cached until the next write."""
    return cache.get_or_set(f"catalog:version:{merchant.pk}", 1, None)


def catalog_count(merchant) -> int:
    """How many products the merchant has (cached until the next catalog write)."""
    key = f"catalog:count:{merchant.pk}:{catalog_version(merchant)}"
    count = cache.get(key)
    if count is None:
        count = Product.objects.filter(merchant=merchant).count()
        cache.set(key, count, 3600)
    return count


def catalog_categories(merchant) -> list[str]:
    """Every category path the merchant's products use, sorted (cached until the next write)."""
    key = f"catalog:categories:{merchant.pk}:{catalog_version(merchant)}"
    categories = cache.get(key)
    if categories is None:
        categories = list(
            Product.objects.filter(merchant=merchant)
            .exclude(category="")
            .values_list("category", flat=True)
            .distinct()
            .order_by("category")
        )
        cache.set(key, categories, 3600)
    return categories


def category_and_below(merchant, category: str) -> list[str]:
    """`category` and every category path under it ("Kitchen" -> "Kitchen", "Kitchen > Pans"...)."""
    below = category + " > "
    return [category, *(c for c in catalog_categories(merchant) if c.startswith(below))]


def facet_values(merchant) -> dict[str, list[str]]:
    """Distinct categories and brands for the filter drop-downs (cached until the next write:
    each is a pass over the whole catalog)."""
    key = f"catalog:facets:{merchant.pk}:{catalog_version(merchant)}"
    facets = cache.get(key)
    if facets is None:
        facets = _facet_values(merchant)
        cache.set(key, facets, 3600)
    return facets


def _facet_values(merchant) -> dict[str, list[str]]:
    base = Product.objects.filter(merchant=merchant)
    return {
        "categories": catalog_categories(merchant)[:500],
        "brands": list(
            base.exclude(brand="")
            .values_list("brand", flat=True)
            .distinct()
            .order_by("brand")[:500]
        ),
    }


def products_for_export(merchant, *, queryset=None) -> tuple[list[dict], list[str]]:
    qs = (queryset if queryset is not None else Product.objects.filter(merchant=merchant)).order_by(
        "sku"
    )
    products = list(
        qs.values(
            "id",
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "currency",
            "stock",
            "status",
            "tags",
            "image_url",
            "attributes",
        )
    )
    copy = live_copy_values(merchant, [p["id"] for p in products])
    names: set[str] = set()
    for p in products:
        p["copy"] = {f: v for f, v in copy.get(p["id"], {}).items() if f in COPY_FIELDS}
        names.update((p["attributes"] or {}).keys())
    return products, sorted(names)


def segment_copy_list(merchant, segment: str, limit: int = 100) -> list[SegmentCopy]:
    """The copy live for one segment (newest first), with its products."""
    return list(
        SegmentCopy.objects.filter(merchant=merchant, segment=str(segment))
        .select_related("product")
        .order_by("-updated_at", "-id")[:limit]
    )
