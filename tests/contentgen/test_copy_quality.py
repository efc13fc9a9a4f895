"""Copy quality: grounded decoding, the kinds' form while decoding, best-of-N reranking, the new
guards and few-shot examples (pure, plus the tiny model for the plumbing)."""

from __future__ import annotations

import pytest
import torch

from contentgen.generation import (
    CopyRequest,
    Variant,
    generate,
    nearest_examples,
    rank_key,
)
from contentgen.grounding import Fit, GroundedDecoding, Grounding
from contentgen.guards import check_copy, check_meta_talk, extract_numbers
from contentgen.specs import get_spec

STAPLES = {
    "sku": "ST-1",
    "title": "Heavy duty staples, 1/2 inch leg",
    "brand": "Stanley",
    "category": "Tools > Staples",
    "attributes": {"Leg length": "1-9/16 in", "Count": "1000", "Material": "copper"},
}


def writes(grounding: Grounding, pieces: list[str]) -> bool:
    """Whether ``grounding`` lets the model write ``pieces`` one token after another."""
    text = ""
    for piece in pieces:
        if not grounding.allows(text, piece):
            return False
        text += piece
    return True


# --------------------------------------------------------------------------- numbers


def test_a_number_of_the_facts_may_be_written_token_by_token_even_a_mixed_fraction():
    g = Grounding.from_facts(STAPLES)
    assert writes(g, ["Legs are ", "1", "-", "9", "/", "1", "6", " in", " long."])
    assert writes(g, ["A box of ", "1", ",", "000", " staples."])
    assert writes(g, ["A box of ", "1", "000", "."])


def test_a_number_absent_from_the_facts_cannot_be_started_finished_or_cut_short():
    g = Grounding.from_facts(STAPLES)
    assert not writes(g, ["Legs are ", "9", "/", "1", "6"])  # 9/16 is not 1-9/16
    assert not writes(g, ["A box of ", "1", "00", " staples"])  # 100 only starts 1000
    assert not writes(g, ["A box of ", "5", "00"])
    assert not writes(g, ["Made of ", "100", "% copper"])
    assert not writes(g, ["Legs are ", "1", "-", "9", "/", "1", " in"])  # 1-9/1 is no fact


def test_a_number_of_the_facts_keeps_the_kind_of_unit_the_facts_give_it():
    g = Grounding.from_facts({"title": "Bolt", "attributes": {"Length": "40 mm", "Weight": "12 g"}})
    assert writes(g, ["It is ", "40", " mm", " long and weighs ", "12", " g", "."])
    assert not writes(g, ["It is ", "40", " kg"])
    assert not writes(g, ["It is ", "40", " g", " heavy"])  # "g" judged once the word ends
    assert writes(g, ["It is ", "40", " great"])  # "g" then was not a unit


def test_fractions_and_numerals_beyond_ascii_digits_need_the_facts_too():
    grounding = Grounding.from_facts(STAPLES)
    assert not writes(grounding, ["Fits a ", "¼", " inch gap"])
    assert not writes(grounding, ["Covers 2 m", "²"])
    quarter = Grounding.from_facts({**STAPLES, "attributes": {"Width": "¼ in"}})
    assert writes(quarter, ["A ", "¼", " inch strip"])


def test_numbers_inside_codes_are_codes_not_claims():
    g = Grounding.from_facts(STAPLES)
    assert writes(g, ["Fits the TRA", "708", "T tacker."])


def test_facts_that_are_mostly_numbers_do_not_become_a_wall_of_numbers():
    facts = {"title": "Bolt", "attributes": {"A": "10 mm", "B": "20 mm", "C": "30 mm"}}
    g = Grounding.from_facts(facts)
    assert writes(g, ["A bolt of ", "10", " mm and ", "20", " mm"])
    assert not g.allows("A bolt of 10 mm and 20 mm and ", "30")
    long_text = "A sturdy bolt with a long shank of 10 mm and a head of 20 mm, sized for the job "
    assert g.allows(long_text, "30")


# --------------------------------------------------------------------------- claim words


def test_materials_and_claims_the_facts_lack_are_refused_whole_or_in_pieces():
    g = Grounding.from_facts(STAPLES)
    assert writes(g, ["Made of", " copper", "."])  # in the facts
    assert not writes(g, ["Made of", " stainless", " steel"])
    assert not writes(g, ["Made of", " brass"])
    assert not writes(g, ["It is", " water", "proof"])
    assert not writes(g, ["It is", " water", " resistant"])
    assert not writes(g, ["Comes with a", " warranty"])
    assert not writes(g, ["It is ", "CE", " marked"])
    assert writes(g, ["Keeps out the", " water", " and", " dust."])  # "water" alone is no claim


def test_a_claim_stated_in_the_facts_is_allowed():
    g = Grounding.from_facts({"title": "Jacket", "attributes": {"Features": "Waterproof"}})
    assert writes(g, ["A", " waterproof", " jacket."])


def test_an_origin_the_facts_do_not_give_cannot_follow_an_origin_cue():
    g = Grounding.from_facts(STAPLES)
    assert not writes(g, ["Made in", " Italy"])
    assert not writes(g, ["Crafted in", " the", " USA"])
    assert writes(g, ["Made in", " small", " batches."])
    known = Grounding.from_facts({"title": "Mug", "attributes": {"Country of origin": "Portugal"}})
    assert writes(known, ["Made in", " Portugal."])


# --------------------------------------------------------------------------- form


def test_one_line_kinds_stay_within_their_limit_and_do_not_start_a_second_line():
    fit = Fit.for_kind("seo_title")
    limit = get_spec("seo_title").max_chars
    assert fit.allows("x" * (limit - 2), "ab")
    assert not fit.allows("x" * (limit - 2), "abc")
    assert not fit.allows("x" * limit, "   ")  # spaces count too
    assert not fit.allows("Stoneware Mug", "\n")
    assert not fit.may_end("Stoneware Mug for") and fit.may_end("Stoneware Mug for Tea")


def test_headlines_stay_within_30_characters_and_never_end_on_a_dangling_word():
    fit = Fit.for_kind("ad_headline")
    assert not fit.allows("a" * 29, "bc")
    assert fit.allows("a" * 29, "\nbc")
    assert not fit.allows("Mugs for", "\n")
    assert not fit.allows("<<<PRODUCT", ">>>")  # fences and markup are never copy


def test_a_description_stops_at_the_first_sentence_end_past_its_target():
    fit = Fit.for_kind("description")
    assert fit.must_end(" ".join(["word"] * 115) + ".")
    assert not fit.must_end(" ".join(["word"] * 115))  # mid-sentence: it goes on
    assert not fit.must_end(" ".join(["word"] * 60) + ".")
    assert not fit.may_end("Too short.")


# --------------------------------------------------------------------------- the processor


def test_the_processor_masks_refused_tokens_and_keeps_end_of_turn(tiny_tokenizer):
    tok = tiny_tokenizer
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    digit = tok.convert_tokens_to_ids("7")
    prompt = tok("A sturdy mug", add_special_tokens=False)["input_ids"]
    facts = {"title": "Mug", "brand": "Clayhouse", "attributes": {"Capacity": "350 ml"}}
    processor = GroundedDecoding(
        tok,
        [(Grounding.from_facts(facts), Fit.for_kind("description"))],
        prompt_len=len(prompt),
        eos_ids=[eos],
    )
    words = tok(" This mug is a sturdy everyday mug for tea and coffee.", add_special_tokens=False)
    holds = tok(" It holds ", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + words["input_ids"] * 3 + holds])
    scores = torch.zeros((1, len(tok)))
    scores[0, digit] = 10.0  # the model's favourite: a number the facts lack
    scores[0, eos] = 5.0
    out = processor(ids, scores)
    assert out[0, digit] == float("-inf")
    assert out[0, eos] == 5.0


MUG = {
    "title": "Mug",
    "brand": "Clayhouse",
    "category": "Kitchen > Mugs",
    "attributes": {"Material": "stoneware", "Colour": "sage green"},
}


def test_a_token_that_starts_or_continues_an_unmentioned_fact_is_nudged():
    grounding = Grounding.from_facts(MUG)
    assert grounding.advances_fact("A mug in", " sage")
    assert grounding.advances_fact("A mug in s", "age")
    assert grounding.advances_fact("A glazed", " stone")
    assert grounding.advances_fact("A glazed stone", "ware")
    assert grounding.advances_fact("Made by", " Clay")
    # ordinary words, a word that goes past the fact, and a fact already written are not
    assert not grounding.advances_fact("A mug", " made")
    assert not grounding.advances_fact("A glazed stone", "walls.")
    assert not grounding.advances_fact("A stoneware mug in", " stone")


def test_the_processor_nudges_unmentioned_facts_among_the_allowed_candidates(tiny_tokenizer):
    tok = tiny_tokenizer
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    prompt = tok("Describe it:", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tok(" A mug in", add_special_tokens=False)["input_ids"]])
    fact = tok(" sage", add_special_tokens=False)["input_ids"]
    other = tok(" blue", add_special_tokens=False)["input_ids"]
    assert len(fact) == 1 and len(other) == 1
    scores = torch.zeros((1, len(tok)))
    scores[0, fact[0]] = 3.0
    scores[0, other[0]] = 3.0

    def run(boost: float) -> torch.Tensor:
        processor = GroundedDecoding(
            tok,
            [(Grounding.from_facts(MUG, boost=boost), Fit.for_kind("description"))],
            prompt_len=len(prompt),
            eos_ids=[eos],
        )
        return processor(ids, scores.clone())

    nudged, plain = run(1.5), run(0.0)
    assert nudged[0, fact[0]] == pytest.approx(4.5)  # boost 1.5
    assert nudged[0, other[0]] == pytest.approx(3.0)
    assert plain[0, fact[0]] == pytest.approx(3.0)


@pytest.fixture
def grounded_results(tiny_backend):
    requests = [
        CopyRequest("ST-1", STAPLES, "seo_title"),
        CopyRequest("ST-1", STAPLES, "ad_headline"),
        CopyRequest("ST-1", STAPLES, "description"),
        CopyRequest("GIFT", {"sku": "GIFT", "title": "Gift card"}, "description"),
    ]
    return generate(tiny_backend, requests, seed=5, candidates=3, max_new_tokens=48)


def test_grounded_gibberish_still_states_no_number_the_facts_lack(grounded_results):
    # the tiny model has random weights and writes digits freely; grounding must stop them
    fact_values = {n.value for n in extract_numbers("1/2 1-9/16 1000")}
    for result in grounded_results:
        for variant in result.variants:
            text = variant.text if isinstance(variant.text, str) else "\n".join(variant.text)
            for number in extract_numbers(text):
                assert number.value in fact_values, (result.kind, text)


def test_grounded_titles_and_headlines_fit_their_limits_by_construction(grounded_results):
    title, headlines = grounded_results[0], grounded_results[1]
    for variant in title.variants:
        assert len(variant.text) <= get_spec("seo_title").max_chars
        assert "over_length" not in {f["code"] for f in variant.flags}
    for variant in headlines.variants:
        assert all(len(line) <= get_spec("ad_headline").max_chars for line in variant.text)


def test_a_product_with_only_a_title_still_gets_copy_flagged_thin(grounded_results):
    gift = grounded_results[3]
    assert gift.thin and len(gift.variants) == get_spec("description").variants
    for variant in gift.variants:
        assert "thin_product" in {f["code"] for f in variant.flags}
        assert not extract_numbers(variant.text)


def test_ungrounded_decoding_is_still_available(tiny_backend):
    (result,) = generate(
        tiny_backend,
        [CopyRequest("ST-1", STAPLES, "seo_title")],
        seed=5,
        candidates=2,
        grounded=False,
        max_new_tokens=24,
    )
    assert len(result.variants) == get_spec("seo_title").variants


# --------------------------------------------------------------------------- reranking


def variant(flags=(), coverage=0.5, logprob=-2.0) -> Variant:
    return Variant(
        index=0,
        text="x",
        passed=not any(s == "hard" for s in flags),
        flags=[{"code": f"c{i}", "severity": s, "message": ""} for i, s in enumerate(flags)],
        coverage=coverage,
        seed=0,
        attempts=1,
        mean_logprob=logprob,
    )


def test_rank_prefers_no_hard_flag_then_coverage_then_fewer_soft_flags_then_fluency():
    hard = variant(["hard"], coverage=1.0, logprob=-0.1)
    low_coverage = variant([], coverage=0.2)
    soft = variant(["soft", "soft"], coverage=0.8)
    fluent = variant(["soft"], coverage=0.8, logprob=-1.0)
    clumsy = variant(["soft"], coverage=0.8, logprob=-3.0)
    ranked = sorted([hard, low_coverage, soft, clumsy, fluent], key=rank_key)
    assert ranked == [fluent, clumsy, soft, low_coverage, hard]


# --------------------------------------------------------------------------- guards


@pytest.mark.parametrize(
    "text",
    [
        "Here's the edited version of your product description: a sturdy mug.",
        "Sure! This mug holds your tea.",
        "As an AI, I would describe this mug as sturdy.",
        "Written using only these facts, this mug is green.",
        "Based on the provided facts, the mug is green.",
        "A green mug. I hope this helps!",
    ],
)
def test_meta_talk_is_a_hard_flag(text):
    (flag,) = check_meta_talk(text)
    assert flag.severity == "hard" and flag.code == "meta_talk"
    assert not check_copy("description", text, STAPLES).passed


@pytest.mark.parametrize(
    "text",
    [
        "Of course, the mug is dishwasher friendly in every way.",
        "Sure-footed boots with a deep tread.",
        "Here is a mug you will reach for every morning.",
    ],
)
def test_ordinary_copy_is_not_meta_talk(text):
    assert check_meta_talk(text) == []


def test_a_description_missing_most_key_facts_gets_a_soft_flag_naming_them():
    facts = {
        "title": "Stoneware mug",
        "brand": "Clayhouse",
        "category": "Kitchen > Mugs",
        "attributes": {"Colour": "Sage green", "Capacity": "350 ml", "Glaze": "Matte"},
    }
    vague = "A lovely mug for slow mornings, made to be used every day. " * 4
    result = check_copy("description", vague, facts)
    (flag,) = [f for f in result.flags if f.code == "misses_key_facts"]
    assert flag.severity == "soft" and "Brand" in flag.message
    full = (
        "The Clayhouse stoneware mug holds 350 ml under a matte sage green glaze, a steady "
        "companion for slow mornings and busy kitchen tables, made to be used every day."
    )
    assert "misses_key_facts" not in {f.code for f in check_copy("description", full, facts).flags}


# --------------------------------------------------------------------------- few-shot


def test_few_shot_examples_are_the_nearest_by_category_and_never_the_product_itself():
    examples = [
        {"kind": "description", "text": "garden", "category": "Garden > Pots", "sku": "G1"},
        {"kind": "description", "text": "pan", "category": "Kitchen > Pans", "sku": "P1"},
        {"kind": "description", "text": "mug old", "category": "Kitchen > Mugs", "sku": "M1"},
        {"kind": "seo_title", "text": "title", "category": "Kitchen > Mugs", "sku": "M2"},
        {"kind": "description", "text": "mug new", "category": "Kitchen > Mugs", "sku": "M3"},
        {"kind": "description", "text": "itself", "category": "Kitchen > Mugs", "sku": "M9"},
    ]
    facts = {"sku": "M9", "title": "Mug", "category": "Kitchen > Mugs"}
    assert nearest_examples(examples, "description", facts) == ["mug new", "mug old"]
    facts = {"sku": "X", "title": "Kettle", "category": "Kitchen > Kettles"}
    assert nearest_examples(examples, "description", facts)[0] in ("mug new", "itself")
    assert nearest_examples(examples, "description", facts, limit=5)[-1] == "garden"


def test_the_prompt_carries_the_nearest_approved_examples_inside_the_fence(tiny_backend):
    voice = {
        "examples": [
            {"kind": "description", "text": "A pot for herbs.", "category": "Garden > Pots"},
            {"kind": "description", "text": "A mug for tea.", "category": "Kitchen > Mugs"},
        ]
    }
    facts = {"sku": "M9", "title": "Mug", "category": "Kitchen > Mugs"}
    (result,) = generate(
        tiny_backend,
        [CopyRequest("M9", facts, "description")],
        voice=voice,
        candidates=1,
        variants=1,
        max_new_tokens=4,
    )
    user = result.prompt_messages[1]["content"]
    fence = user[user.index("<<<EXAMPLE COPY>>>") :]
    assert fence.index("A mug for tea.") < fence.index("A pot for herbs.")


# --------------------------------------------------------------------------- evaluation


def test_claims_split_what_the_facts_back_from_what_is_invented():
    from contentgen.evaluation import claims

    supported, invented = claims("A 1000 count box of copper staples, 12 mm, in steel.", STAPLES)
    assert supported == ["1000 count", "copper"]
    assert invented == ["12 mm", "steel"]


def test_copy_evaluate_reports_each_kind_and_never_shows_the_reference(tiny_checkpoint, tmp_path):
    import json

    from django.core.management import call_command

    products = tmp_path / "products.csv"
    products.write_text(
        "sku,title,brand,category,Colour,description\n"
        "MUG-1,Stoneware mug,Clayhouse,Kitchen > Mugs,Sage green,A sage green mug for tea.\n"
        "KET-1,Copper kettle,Kuchen,Kitchen > Kettles,Copper,A copper kettle for the hob.\n"
    )
    out = tmp_path / "eval.json"
    call_command(
        "copy_evaluate",
        "--products",
        str(products),
        "--kinds",
        "description,seo_title",
        "--model",
        tiny_checkpoint,
        "--candidates",
        "2",
        "--json",
        str(out),
    )
    report = json.loads(out.read_text())
    assert set(report["kinds"]) == {"description", "seo_title"}
    description = report["kinds"]["description"]
    for key in (
        "guard_pass_rate",
        "products_with_passing_variant",
        "claim_precision",
        "invented_claims_in_passing",
        "mean_fact_coverage",
        "chrf",
        "products_per_minute",
    ):
        assert key in description
    assert description["products"] == 2 and description["chrf"] is not None
    assert report["kinds"]["seo_title"]["chrf"] is None  # a title is not a description
    assert report["samples"] and "A sage green mug for tea." not in json.dumps(report["samples"])


def test_copy_evaluate_names_a_missing_reference_column(tiny_checkpoint, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    products = tmp_path / "products.csv"
    products.write_text("sku,title\nMUG-1,Stoneware mug\n")
    with pytest.raises(CommandError, match="no 'copy' column"):
        call_command(
            "copy_evaluate",
            "--products",
            str(products),
            "--reference-column",
            "copy",
            "--model",
            tiny_checkpoint,
            "--json",
            str(tmp_path / "x.json"),
        )
