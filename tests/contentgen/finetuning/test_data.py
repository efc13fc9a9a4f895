"""Training data: same prompt as generation, bad examples left out with counts and messages."""

from __future__ import annotations

import json

import pytest

from contentgen.finetuning import data as D
from contentgen.finetuning.training import encode_example
from contentgen.prompts import build_messages, render_prompt

COLORS = ["red", "blue", "green", "black", "white", "grey", "pink", "teal", "gold", "navy"]
BRANDS = ["Acme", "Borek", "Calder", "Dunmore"]


def _facts(i: int) -> dict:
    return {
        "sku": f"K{i}",
        "title": f"Copper Kettle {BRANDS[i % 4]} {COLORS[i % 10]} model {i}",
        "brand": BRANDS[i % 4],
        "category": "Kitchen > Kettles",
        "attributes": {"material": "copper", "color": COLORS[i % 10]},
    }


def _good(n: int) -> list[D.CopyRecord]:
    return [
        D.CopyRecord(
            facts=_facts(i),
            kind="seo_title",
            value=f"{BRANDS[i % 4]} Copper Kettle in {COLORS[i % 10].title()}",
            ref=f"line {i + 1}",
        )
        for i in range(n)
    ]


def test_examples_use_exactly_the_generation_prompt(tiny_tokenizer):
    voice = {"tone": "friendly", "language": "en"}
    prepared = D.prepare_examples(_good(3), tiny_tokenizer, voice=voice)
    assert len(prepared.examples) == 3 and not prepared.rejected
    ex = prepared.examples[0]
    expected = render_prompt(tiny_tokenizer, build_messages(_facts(0), "seo_title", voice))
    assert ex.prompt == expected
    assert ex.answer == "Acme Copper Kettle in Red<|im_end|>\n"
    enc = encode_example(tiny_tokenizer, ex)
    n_prompt = len(tiny_tokenizer(expected, add_special_tokens=False)["input_ids"])
    assert set(enc.labels[:n_prompt]) == {-100} and -100 not in enc.labels[n_prompt:]


def test_list_kinds_are_written_one_item_per_line(tiny_tokenizer):
    rec = D.CopyRecord(
        facts=_facts(0),
        kind="ad_headlines",
        value=["Acme Copper Kettle", "Red Copper Kettle", "Kettles by Acme"],
    )
    ex = D.prepare_examples([rec], tiny_tokenizer).examples[0]
    assert ex.meta["kind"] == "ad_headline"
    assert ex.answer.startswith("Acme Copper Kettle\nRed Copper Kettle\nKettles by Acme")


def test_bad_examples_are_left_out_with_counts_and_messages(tiny_tokenizer):
    records = _good(30)
    records.append(records[0])  # duplicate
    records.append(
        D.CopyRecord(facts=_facts(1), kind="seo_title", value="Acme Steel Kettle in Red")
    )  # invented material
    records.append(
        D.CopyRecord(facts=_facts(2), kind="seo_title", value="x" * 80)
    )  # over 60 characters
    records.append(D.CopyRecord(facts=_facts(3), kind="tweet", value="hello"))
    records.append(D.CopyRecord(facts=_facts(4), kind="description", value="   "))
    prepared = D.prepare_examples(records, tiny_tokenizer)
    assert len(prepared.examples) == 30
    assert prepared.counts == {"duplicate": 1, "failed_guards": 2, "unknown_kind": 1, "empty": 1}
    text = " ".join(prepared.messages())
    assert "1 example left out: a duplicate" in text
    assert "2 examples left out: text that fails a hard guard" in text
    steel = [r for r in prepared.rejected if r.reason == "failed_guards"][0]
    assert "steel" in steel.detail.lower()
    assert prepared.enough()


def test_examples_over_the_context_are_left_out(tiny_tokenizer):
    prepared = D.prepare_examples(_good(4), tiny_tokenizer, max_length=64)
    assert prepared.counts == {"too_long": 4} and not prepared.examples
    assert "longer than the training context (64 tokens)" in " ".join(prepared.messages())


def test_too_few_examples_is_stated_with_the_minimum(tiny_tokenizer):
    prepared = D.prepare_examples(_good(5), tiny_tokenizer)
    assert not prepared.enough()
    assert f"Only 5 usable examples; at least {D.MIN_EXAMPLES} are needed" in " ".join(
        prepared.messages()
    )
    report = prepared.report()
    assert report["per_kind"] == {"seo_title": 5} and report["enough"] is False


def test_kind_verdicts_say_whether_each_kind_has_enough():
    rows = {r["kind"]: r for r in D.kind_verdicts({"description": 60, "seo_title": 10})}
    assert rows["description"]["enough"] and rows["description"]["verdict"] == "enough"
    assert rows["seo_title"]["verdict"] == f"few: {D.ENOUGH_PER_KIND - 10} more recommended"
    assert rows["ad_headline"]["verdict"] == "none"


def test_existing_copy_equal_to_the_answer_does_not_leak_into_the_prompt(tiny_tokenizer):
    facts = {**_facts(0), "copy": {"seo_title": "Acme Copper Kettle in Red"}}
    rec = D.CopyRecord(facts=facts, kind="seo_title", value="Acme Copper Kettle in Red")
    ex = D.prepare_examples([rec], tiny_tokenizer).examples[0]
    assert "Acme Copper Kettle in Red" not in ex.prompt


def test_jsonl_upload_reports_bad_lines():
    lines = [
        json.dumps({"product": _facts(0), "kind": "seo_title", "text": "Acme Copper Kettle"}),
        "{not json",
        json.dumps({"product": _facts(1), "kind": "seo_title"}),
        "",
        json.dumps({"product": "Kettle", "kind": "seo_title", "text": "x"}),
        json.dumps({"product": _facts(2), "kind": "ad_headlines", "text": ["A", "B", "C"]}),
    ]
    records, errors = D.parse_upload("\n".join(lines).encode(), "copy.jsonl")
    assert [r.ref for r in records] == ["line 1", "line 6"]
    assert records[1].value == ["A", "B", "C"]
    assert errors[0].startswith("line 2: not valid JSON")
    assert errors[1] == "line 3: missing text."
    assert errors[2] == "line 5: product must be an object of facts."


def test_csv_upload_builds_facts_from_columns():
    csv_text = (
        "sku,title,brand,material,kind,text\n"
        "K1,Copper Kettle,Acme,copper,seo_title,Acme Copper Kettle\n"
        "K2,,Acme,copper,seo_title,Nothing\n"
        'K3,Tea Pot,Acme,clay,ad_headline,"Clay Tea Pot\nAcme Tea Pot\nPour Slowly"\n'
    )
    records, errors = D.parse_upload(csv_text.encode(), "copy.csv")
    assert errors == ["line 3: empty title."]
    assert (
        records[0].facts["attributes"] == {"material": "copper"}
        and records[0].facts["brand"] == "Acme"
    )
    assert records[1].kind == "ad_headline" and "kind" not in records[1].facts["attributes"]
    with pytest.raises(D.UploadError, match="kind, text and title"):
        D.parse_upload(b"sku,title\nK1,Kettle\n", "copy.csv")
    with pytest.raises(D.UploadError, match=".jsonl or .csv"):
        D.parse_upload(b"x", "copy.xlsx")


def test_an_approved_text_in_the_voice_examples_does_not_leak_into_its_own_prompt(tiny_tokenizer):
    text = "Acme Copper Kettle in Red"
    voice = {"tone": "friendly", "examples": [{"kind": "seo_title", "text": text}]}
    ex = D.prepare_examples(
        [D.CopyRecord(facts=_facts(0), kind="seo_title", value=text)], tiny_tokenizer, voice=voice
    ).examples[0]
    assert text not in ex.prompt
    other = D.prepare_examples(
        [D.CopyRecord(facts=_facts(1), kind="seo_title", value="Borek Copper Kettle in Blue")],
        tiny_tokenizer,
        voice=voice,
    ).examples[0]
    assert text in other.prompt  # other examples still see the voice's example copy
