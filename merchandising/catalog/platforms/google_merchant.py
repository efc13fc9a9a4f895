"""Google Merchant Center product feed (RSS 2.0 with the g: namespace). Pure Python, no Django.

Written as a stream, one <item> at a time, so a catalog of any size goes out in constant memory.
The attributes and limits follow Google's product data specification
(https://support.google.com/merchants/answer/7052112): id (50 characters), title (150),
description (5,000), link, image_link, availability, price, condition, and brand where known.
A product that would break a required attribute is left out and the reason recorded, rather
than sent for Merchant Center to disapprove.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

NAMESPACE = "http://base.google.com/ns/1.0"
MAX_ID = 50
MAX_TITLE = 150
MAX_DESCRIPTION = 5_000
MAX_URL = 2_000
CONDITIONS = ("new", "refurbished", "used")
# Characters XML 1.0 does not allow (controls other than tab and line ends, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class LeftOut:
    sku: str
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"sku": self.sku, "reasons": self.reasons}


@dataclass
class FeedSummary:
    items: int = 0
    left_out: list[LeftOut] = field(default_factory=list)

    def as_dict(self, limit: int = 500) -> dict:
        return {
            "items": self.items,
            "left_out_count": len(self.left_out),
            "left_out": [entry.as_dict() for entry in self.left_out[:limit]],
        }


def _is_url(value: str) -> bool:
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(value) <= MAX_URL


def feed_item(product: dict) -> tuple[dict[str, str] | None, list[str]]:
    """The feed attributes of one product (a dict with sku, title, brand, category, price,
    currency, stock, image_url, attributes, copy and link), or None and the reasons it cannot
    be listed."""
    reasons: list[str] = []
    copy = product.get("copy") or {}
    sku = product["sku"]
    title = (product.get("title") or "").strip()
    description = (copy.get("description") or copy.get("seo_description") or "").strip()
    if len(sku) > MAX_ID:
        reasons.append(f"id: the SKU has {len(sku)} characters; Merchant Center allows {MAX_ID}")
    if not title:
        reasons.append("title: missing")
    elif len(title) > MAX_TITLE:
        reasons.append(f"title: {len(title)} characters; the limit is {MAX_TITLE}")
    if not description:
        reasons.append("description: the product has no live description copy")
    elif len(description) > MAX_DESCRIPTION:
        reasons.append(f"description: {len(description):,} characters; the limit is 5,000")
    link = product.get("link") or ""
    if not _is_url(link):
        reasons.append("link: no product page address (set the shop origin in Settings)")
    image = product.get("image_url") or ""
    if not _is_url(image):
        reasons.append("image_link: the product has no image")
    price = Decimal(str(product.get("price") or "0"))
    if price <= 0:
        reasons.append("price: must be more than 0")
    if reasons:
        return None, reasons
    attributes = product.get("attributes") or {}
    condition = str(attributes.get("condition", "new")).strip().lower()
    item = {
        "g:id": sku,
        "title": title,
        "description": description,
        "link": link,
        "g:image_link": image,
        "g:availability": "in_stock" if (product.get("stock") or 0) > 0 else "out_of_stock",
        "g:price": f"{price:.2f} {product.get('currency') or 'EUR'}",
        "g:condition": condition if condition in CONDITIONS else "new",
    }
    if product.get("brand"):
        item["g:brand"] = product["brand"][:70]
    if product.get("category"):
        item["g:product_type"] = product["category"][:750]
    return item, []


def _clean(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def write(
    products: Iterable[dict], summary: FeedSummary, *, title: str, link: str, description: str
) -> Iterator[str]:
    """The feed as text chunks; `summary` collects the item count and what was left out."""
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:g="{NAMESPACE}">\n<channel>\n'
        f"<title>{_clean(title)}</title>\n<link>{_clean(link)}</link>\n"
        f"<description>{_clean(description)}</description>\n"
    )
    for product in products:
        item, reasons = feed_item(product)
        if item is None:
            summary.left_out.append(LeftOut(product["sku"], reasons))
            continue
        summary.items += 1
        cells = "".join(f"<{name}>{_clean(value)}</{name}>" for name, value in item.items())
        yield f"<item>{cells}</item>\n"
    yield "</channel>\n</rss>\n"
