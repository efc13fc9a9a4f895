"""Google Ads Editor CSV of responsive search ads made from approved ad copy. Pure Python.

Columns: Campaign, Ad group, Ad type, Headline 1-15, Description 1-4, Path 1, Path 2, Final URL
(the layout Google's own bulk-upload code writes; see docs/platforms.md for the sources).
Limits (Google Ads Help, "About responsive search ads"): 3 to 15 headlines of at most 30
characters, 2 to 4 descriptions of at most 90, display paths of at most 15 without "/", path 2
only with path 1, at most 3 enabled responsive search ads per ad group. Wide (East Asian) characters
count twice, as Google counts them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from .google_merchant import LeftOut

MAX_HEADLINE = 30
MAX_DESCRIPTION = 90
MAX_PATH = 15
HEADLINES = (3, 15)
DESCRIPTIONS = (2, 4)
ADS_PER_AD_GROUP = 3
AD_TYPE = "Responsive search ad"
HEADER = (
    ["Campaign", "Ad group", "Ad type"]
    + [f"Headline {n}" for n in range(1, 16)]
    + [f"Description {n}" for n in range(1, 5)]
    + ["Path 1", "Path 2", "Final URL"]
)
_PATH_UNSAFE = re.compile(r"[^\w-]+")
_FORMULA_START = ("=", "+", "-", "@")


def ad_length(text: str) -> int:
    """Characters as Google Ads counts them: wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fitting(texts, limit: int, most: int) -> tuple[list[str], int]:
    kept: list[str] = []
    too_long = 0
    for text in texts or []:
        text = " ".join(str(text).split())
        if not text or text in kept:
            continue
        if text.startswith(_FORMULA_START):
            # A spreadsheet would run it as a formula, and an apostrophe in front would show
            # in the ad: such a text is not exported.
            too_long += 1
            continue
        if ad_length(text) > limit:
            too_long += 1
            continue
        if len(kept) < most:
            kept.append(text)
    return kept, too_long


def _path(part: str) -> str:
    slug = _PATH_UNSAFE.sub("-", part.strip()).strip("-")
    while ad_length(slug) > MAX_PATH:
        slug = slug[:-1]
    return slug.strip("-")


@dataclass
class AdsSummary:
    ads: int = 0
    ad_groups: int = 0
    left_out: list[LeftOut] = field(default_factory=list)

    def as_dict(self, limit: int = 500) -> dict:
        return {
            "ads": self.ads,
            "ad_groups": self.ad_groups,
            "left_out_count": len(self.left_out),
            "left_out": [entry.as_dict() for entry in self.left_out[:limit]],
        }


def write(
    products: Iterable[dict], out, *, campaign: str, group_by: str = "category"
) -> AdsSummary:
    """Write one responsive search ad per product that has enough approved ad copy. Ad groups
    are the products' categories (group_by="category", at most 3 ads each) or one per product
    (group_by="product")."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    summary = AdsSummary()
    ads_in_group: dict[str, int] = {}
    for product in products:
        copy = product.get("copy") or {}
        headlines, long_headlines = _fitting(copy.get("ad_headlines"), MAX_HEADLINE, HEADLINES[1])
        descriptions, long_descriptions = _fitting(
            copy.get("ad_descriptions"), MAX_DESCRIPTION, DESCRIPTIONS[1]
        )
        reasons = []
        if len(headlines) < HEADLINES[0]:
            reasons.append(
                f"needs {HEADLINES[0]} approved headlines of at most {MAX_HEADLINE} characters; "
                f"has {len(headlines)}"
                + (f" ({long_headlines} too long or unsafe)" if long_headlines else "")
            )
        if len(descriptions) < DESCRIPTIONS[0]:
            reasons.append(
                f"needs {DESCRIPTIONS[0]} approved descriptions of at most {MAX_DESCRIPTION} "
                f"characters; has {len(descriptions)}"
                + (f" ({long_descriptions} too long or unsafe)" if long_descriptions else "")
            )
        link = product.get("link") or ""
        if not link.startswith(("http://", "https://")):
            reasons.append("no product page address for the Final URL")
        category_parts = [
            p.strip() for p in (product.get("category") or "").split(">") if p.strip()
        ]
        if group_by == "product":
            ad_group = f"{product['title']} ({product['sku']})"[:255]
        else:
            ad_group = (" > ".join(category_parts) or "Uncategorized")[:255]
            if not reasons and ads_in_group.get(ad_group, 0) >= ADS_PER_AD_GROUP:
                reasons.append(
                    f"ad group {ad_group!r} already has {ADS_PER_AD_GROUP} responsive search ads "
                    "(Google's limit); export with one ad group per product to include it"
                )
        if reasons:
            summary.left_out.append(LeftOut(product["sku"], reasons))
            continue
        if ad_group not in ads_in_group:
            summary.ad_groups += 1
        ads_in_group[ad_group] = ads_in_group.get(ad_group, 0) + 1
        paths = [_path(p) for p in category_parts[-2:]] if category_parts else []
        paths = [p for p in paths if p]
        path1 = paths[0] if paths else ""
        path2 = paths[1] if len(paths) > 1 and path1 else ""
        row = (
            [campaign, ad_group, AD_TYPE]
            + headlines
            + [""] * (HEADLINES[1] - len(headlines))
            + descriptions
            + [""] * (DESCRIPTIONS[1] - len(descriptions))
            + [path1, path2, link]
        )
        writer.writerow(row)
        summary.ads += 1
    return summary
