"""The demo shop's past copy, kept as training data it owns, so it can fine-tune right away.

The demo catalog arrives with product copy (descriptions, SEO fields, ad text) that the shop
wrote before it used Merchlab. A real merchant brings such copy as an upload of past copy it
owns (``contentgen.finetuning.services.past_copy_upload``, JSONL or CSV); the demo sends its
catalog's own copy through that same path, at most :data:`MAX_RECORDS` texts. Without it a
fresh demo shop has no approved copy yet and the fine-tuning page would refuse to start (at
least ``contentgen.finetuning.data.MIN_EXAMPLES`` examples are needed).
"""

from __future__ import annotations

MAX_RECORDS = 240


def catalog_copy_records(merchant, limit: int = MAX_RECORDS) -> list:
    """The merchant's live copy of active products as past-copy records (answer kept out of the facts)."""
    from contentgen.finetuning.data import CopyRecord
    from contentgen.finetuning.selectors import _kind_for_field
    from merchandising.catalog.models import LiveCopy, Product

    copies: dict[int, dict] = {}
    for c in LiveCopy.objects.filter(merchant=merchant, product__status="active").order_by(
        "product_id", "field"
    ):
        copies.setdefault(c.product_id, {})[c.field] = c.value
    products = Product.objects.filter(merchant=merchant, pk__in=list(copies)).order_by("sku")
    records: list = []
    for product in products:
        live = copies[product.pk]
        for field, value in sorted(live.items()):
            if not value:
                continue
            others = {f: v for f, v in live.items() if f != field}
            records.append(
                CopyRecord(
                    facts=product.facts(live_copy=others),
                    kind=_kind_for_field(field, value),
                    value=value,
                    source="upload",
                    ref=f"{product.sku} {field}",
                )
            )
            if len(records) >= limit:
                return records
    return records


def seed(context) -> None:
    """Upload the demo catalog's own copy as the shop's past copy (once; re-seeding keeps it)."""
    from contentgen.finetuning import selectors, services
    from contentgen.finetuning.data import records_to_jsonl

    if selectors.past_copy_records(context.merchant):
        context.say("copy history: past copy already uploaded")
        return
    records = catalog_copy_records(context.merchant)
    kept, errors = services.past_copy_upload(
        merchant=context.merchant,
        content=records_to_jsonl(records).encode(),
        filename="catalog-copy.jsonl",
    )
    summary = selectors.training_data_summary(context.merchant)
    context.say(
        f"copy history: {kept} texts of the catalog's own copy uploaded as past copy "
        f"({summary['total']} training examples, fine-tuning "
        f"{'can start' if summary['enough'] else 'needs more'})"
        + (f"; {len(errors)} lines refused" if errors else "")
    )
