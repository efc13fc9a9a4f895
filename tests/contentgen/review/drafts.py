"""Drafts for review tests, written straight through contentgen's model (no language model):
the text is what a model might have written, the flags are what the real guards say of it."""

from __future__ import annotations


def make_draft(product, kind: str, text, *, variant: int = 0, segment: str = "", **extra):
    from contentgen.guards import check_copy
    from contentgen.models import CopyDraft
    from contentgen.specs import get_spec

    result = check_copy(kind, text, product.facts())
    fields = {
        "merchant": product.merchant,
        "product": product,
        "sku": product.sku,
        "kind": get_spec(kind).name,
        "field": get_spec(kind).field,
        "variant": variant,
        "segment": segment,
        "text": text,
        "flags": result.flag_dicts(),
        "passed": result.passed,
        "coverage": result.coverage,
        "product_updated_at": product.updated_at,
        "model_id": "test",
    }
    fields.update(extra)
    return CopyDraft.objects.create(**fields)


GOOD_SEO_TITLE = "Copper saucepan by Kuchen, 2 l"
GOOD_DESCRIPTION = (
    "This copper saucepan from Kuchen heats quickly and evenly, so sauces, custards and "
    "grains cook gently without scorching. It holds 2 l, enough for a family side dish or a "
    "batch of soup. The copper body looks lovely on an open shelf and polishes back to a warm "
    "shine. Use it every day for boiling, simmering and reducing, and enjoy how quickly it "
    "responds when you turn the heat up or down. A practical pan for cooks who like to see "
    "and feel what is happening in the pot."
)
GOOD_HEADLINES = ["Kuchen copper saucepan", "Heats fast and evenly", "Holds 2 l of soup"]
