"""The demo shop can fine-tune right away: its catalog's own copy is uploaded as past copy it owns."""

from __future__ import annotations

import pytest

from contentgen.finetuning import data as D
from contentgen.finetuning import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    from merchandising.demo.seed import seed_catalog, seed_merchant

    settings.VAR_DIR = tmp_path
    context = seed_merchant(say=lambda line: None)
    seed_catalog(context)
    return context


def test_demo_shop_has_enough_usable_past_copy_to_start_a_fine_tune(demo, tiny_tokenizer):
    from merchandising.demo import copy_history

    before = selectors.training_data_summary(demo.merchant)
    assert before["total"] < D.MIN_EXAMPLES  # without it the demo could not fine-tune

    copy_history.seed(demo)
    summary = selectors.training_data_summary(demo.merchant)
    assert summary["enough"] and summary["sources"]["upload"] == summary["total"]

    records = selectors.training_records(demo.merchant)
    assert len({r.facts["sku"] for r in records}) > 10
    # the answer never leaks into its own prompt's facts
    assert all(r.kind != "description" or "description" not in r.facts for r in records)
    prepared = D.prepare_examples(
        records, tiny_tokenizer, max_length=2048, hard_check=D.guard_hard_check
    )
    assert prepared.enough(D.MIN_EXAMPLES), prepared.messages()

    adapter = services.finetune_start(merchant=demo.merchant)  # no upload needed
    assert adapter.version == 1

    copy_history.seed(demo)  # seeding again keeps what is there
    assert len(selectors.training_records(demo.merchant)) == len(records)


def test_past_copy_upload_replaces_or_adds(shop):
    line = '{"product": {"sku": "K1", "title": "Kettle"}, "kind": "seo_title", "text": "Kettle"}\n'
    kept, errors = services.past_copy_upload(
        merchant=shop.merchant, content=(line + "not json\n").encode(), filename="a.jsonl"
    )
    assert kept == 1 and len(errors) == 1
    other = line.replace("K1", "K2")
    services.past_copy_upload(
        merchant=shop.merchant, content=other.encode(), filename="b.jsonl", replace=False
    )
    assert [r.facts["sku"] for r in selectors.training_records(shop.merchant)] == ["K1", "K2"]
    services.past_copy_upload(merchant=shop.merchant, content=other.encode(), filename="c.jsonl")
    assert [r.facts["sku"] for r in selectors.training_records(shop.merchant)] == ["K2"]
