"""Guards as pure functions: what a merchant would see flagged, and what must pass."""

import pytest

from contentgen import guards
from contentgen.guards import HARD, SOFT, check_copy

FITTING = {
    "sku": "FIT-1",
    "title": "Acme compression fitting",
    "brand": "Acme",
    "category": "Plumbing > Fittings",
    "price": "4.99",
    "currency": "USD",
    "attributes": {"Material": "Copper", "Size": "1-9/16 in", "Pack": "2 pcs", "Thread": "9/16 in"},
}
MUG = {
    "sku": "MUG-1",
    "title": "Stoneware mug",
    "brand": "Clayhouse",
    "category": "Kitchen > Mugs",
    "price": "18.00",
    "attributes": {
        "Capacity": "350 ml",
        "Material": "Stoneware",
        "Dishwasher safe": "yes",
        "Colour": "Sage green",
    },
}


def codes(flags, severity=None):
    return {f.code for f in flags if severity is None or f.severity == severity}


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text,value,unit",
    [
        ('1-9/16" pipe', 1.5625, '"'),
        ("1 9/16 inch", 1.5625, "inch"),
        ("9/16 in", 0.5625, "in"),
        ("1½ cups", 1.5, "cups"),
        ("$19.99", 19.99, "$"),
        ("1,200 W", 1200.0, "w"),
        ("2,5 kg", 2.5, "kg"),
        ("5V", 5.0, "v"),
        ("100% cotton", 100.0, "%"),
    ],
)
def test_numbers_are_read_as_values_with_units(text, value, unit):
    (first, *_rest) = guards.extract_numbers(text)
    assert first.value == pytest.approx(value)
    assert first.unit == unit


def test_mixed_fraction_is_one_number():
    values = [n.value for n in guards.extract_numbers("fits 1-9/16 in pipes")]
    assert values == [pytest.approx(1.5625)]


def test_ambiguous_single_letter_and_in_are_not_units():
    mentions = guards.extract_numbers("use 3 a day, set of 3 in blue, 30x40 cm")
    assert [(m.value, m.unit) for m in mentions] == [
        (3.0, None),
        (3.0, None),
        (30.0, "x"),
        (40.0, "cm"),
    ]


def test_nine_sixteenths_for_a_one_and_nine_sixteenths_product_is_flagged():
    facts = {"title": "Pipe clamp", "attributes": {"Size": "1-9/16 in"}}
    flags = guards.check_facts("Fits 9/16 in pipes.", facts)
    assert "unsupported_number" in codes(flags, HARD)


def test_one_and_nine_sixteenths_for_a_nine_sixteenths_product_is_flagged():
    facts = {"title": "Pipe clamp", "attributes": {"Size": "9/16 in"}}
    flags = guards.check_facts('Fits 1-9/16" pipes.', facts)
    assert "unsupported_number" in codes(flags, HARD)


def test_same_size_written_differently_passes():
    facts = {"title": "Pipe clamp", "attributes": {"Size": "1-9/16 in"}}
    assert guards.check_facts("Fits 1 9/16 inch pipes.", facts) == []


def test_invented_weight_is_hard_and_bare_number_is_soft():
    flags = guards.check_facts("Weighs 10 kg and comes with 3 adapters.", MUG)
    assert "unsupported_number" in codes(flags, HARD)
    assert "unverified_number" in codes(flags, SOFT)


def test_right_number_wrong_unit_is_flagged():
    facts = {"title": "Bottle", "attributes": {"Capacity": "500 ml"}}
    flags = guards.check_facts("Holds 500 g of water.", facts)
    assert "wrong_unit" in codes(flags, HARD)


def test_price_from_facts_passes():
    assert guards.check_facts("Only $18.00.", MUG) == []


# ---------------------------------------------------------------- materials and claims


def test_steel_on_a_copper_product_is_flagged():
    flags = guards.check_facts("A sturdy steel fitting from Acme.", FITTING)
    assert "unsupported_material" in codes(flags, HARD)
    assert any("steel" in f.message for f in flags)


def test_copper_on_a_copper_product_passes():
    assert guards.check_facts("A sturdy copper fitting from Acme.", FITTING) == []


def test_stainless_steel_needs_stainless_in_facts_but_steel_is_fine_for_stainless():
    steel = {"title": "Pan", "attributes": {"Material": "steel"}}
    stainless = {"title": "Pan", "attributes": {"Material": "stainless steel"}}
    assert "unsupported_material" in codes(guards.check_facts("Stainless steel pan.", steel))
    assert guards.check_facts("A steel pan.", stainless) == []


def test_aluminium_spellings_are_the_same_material():
    facts = {"title": "Frame", "attributes": {"Material": "Aluminium"}}
    assert guards.check_facts("Light aluminum frame.", facts) == []


@pytest.mark.parametrize(
    "text",
    [
        "CE certified for safety.",
        "FDA approved material.",
        "Comes with a 5 year warranty.",
        "Fully waterproof.",
        "Made in Germany.",
        "BPA-free plastic.",
        "ISO 9001 quality.",
    ],
)
def test_unbacked_certifications_and_regulated_claims_are_hard(text):
    flags = guards.check_facts(text, {"title": "Bottle", "attributes": {"Material": "plastic"}})
    assert codes(flags, HARD) & {"unsupported_claim", "unsupported_number"}


def test_claim_in_facts_passes():
    assert guards.check_facts("Dishwasher safe.", MUG) == []
    facts = {"title": "Bottle", "attributes": {"Certification": "BPA free"}}
    assert guards.check_facts("BPA-free.", facts) == []


def test_superlatives_are_soft():
    flags = guards.check_facts("The best mug on sale.", MUG)
    assert codes(flags) == {"marketing_claim"}
    assert all(f.severity == SOFT for f in flags)


def test_ordinary_words_are_not_certifications():
    # "ce" in words, "ul" inside words must not trip the acronym checks
    assert guards.check_facts("A nice cup for the ultimate place in your kitchen.", MUG) == []


# ---------------------------------------------------------------- length and emptiness


def test_over_length_seo_title_is_hard_and_explains_the_limit():
    result = check_copy("seo_title", "A" * 10 + " very long title " * 5, MUG)
    flag = next(f for f in result.flags if f.code == "over_length")
    assert flag.severity == HARD
    assert "60" in flag.message
    assert not result.passed


def test_headline_over_30_characters_is_flagged_by_item():
    result = check_copy(
        "ad_headline",
        ["Clayhouse mug", "Sage green stoneware", "A stoneware mug for slow mornings at home"],
        MUG,
    )
    flag = next(f for f in result.flags if f.code == "over_length")
    assert "Item 3" in flag.message


def test_too_few_and_too_many_headlines():
    assert "too_few_items" in codes(check_copy("ad_headline", ["Clayhouse mug"], MUG).flags)
    many = [f"Clayhouse mug {i}" for i in range(16)]
    assert "too_many_items" in codes(check_copy("ad_headline", many, MUG).flags)


def test_empty_is_hard_and_other_guards_are_skipped():
    result = check_copy("description", "   ", MUG)
    assert codes(result.flags, HARD) == {"empty"}


def test_truncated_output_is_hard():
    result = check_copy("seo_title", "Clayhouse stoneware mug", MUG, truncated=True)
    assert "truncated" in codes(result.flags, HARD)


def test_description_too_short_is_hard_and_a_bit_short_is_soft():
    assert "too_short" in codes(check_copy("description", "A sage green mug.", MUG).flags, HARD)
    forty = (
        " ".join(["Clayhouse makes a sage green stoneware mug."] * 1) + " It is lovely" * 9 + "."
    )
    flags = check_copy("description", forty, MUG).flags
    assert "short" in codes(flags, SOFT)


def test_good_seo_title_passes_all_guards():
    result = check_copy("seo_title", "Clayhouse Stoneware Mug, Sage Green, 350 ml", MUG)
    assert result.passed, result.flags
    assert result.coverage > 0.5


# ---------------------------------------------------------------- repetition / degenerate


@pytest.mark.parametrize(
    "text,code",
    [
        ("Great mug great mug great mug great mug for tea.", "repeated_phrase"),
        ("The mug is very very very nice.", "repeated_word"),
        ("Wow!!!!!!!! A mug.", "degenerate"),
        ("#$%^ 123 456 789 &*() ---", "degenerate"),
    ],
)
def test_degenerate_text_is_hard(text, code):
    flags = guards.check_repetition("seo_description", text)
    assert code in codes(flags, HARD)


def test_repeated_sentence_is_flagged():
    text = "This mug keeps tea warm. It is made of stoneware. This mug keeps tea warm."
    assert "repeated_sentence" in codes(guards.check_repetition("description", text))


def test_duplicate_headlines_are_soft():
    flags = guards.check_repetition(
        "ad_headline", ["Clayhouse mug", "clayhouse  mug", "Sage green"]
    )
    assert codes(flags) == {"duplicate_item"}


def test_normal_text_has_no_repetition_flags():
    text = (
        "Clayhouse's sage green stoneware mug holds 350 ml of tea or coffee. "
        "It is dishwasher safe and comfortable to hold on slow mornings."
    )
    assert guards.check_repetition("description", text) == []


# ---------------------------------------------------------------- brand voice, markup, language


def test_banned_words_from_brand_voice_are_hard_case_insensitive():
    voice = {"avoid_words": ["cheap", "revolutionary"], "avoid_claims": "eco friendly"}
    flags = guards.check_banned("A Cheap and eco-friendly mug.", voice)
    assert {f.detail["term"] for f in flags} == {"cheap", "eco friendly"}
    assert all(f.severity == HARD for f in flags)


def test_banned_word_inside_another_word_is_not_flagged():
    assert guards.check_banned("A cheaply made joke.", {"avoid_words": ["cheap"]}) == []


@pytest.mark.parametrize(
    "text,code",
    [
        ("A mug <script>alert(1)</script>", "markup_script"),
        ("A <b>bold</b> mug", "markup_html"),
        ("Buy at https://example.com today", "markup_link"),
        ("Visit www.clayhouse.example", "markup_link"),
        ("Mail us at shop@example.com", "markup_link"),
        ("See [our shop](http://x)", "markup_link"),
        ("Click <a href=x onclick='y'>", "markup_script"),
    ],
)
def test_markup_and_links_are_hard(text, code):
    flags = guards.check_markup(text)
    assert code in codes(flags, HARD)


def test_plain_text_with_less_than_sign_is_not_html():
    assert guards.check_markup("Holds < 400 ml and > 300 ml.") == []


def test_german_text_for_an_english_shop_is_wrong_language():
    text = "Diese Tasse ist aus Steinzeug und sie ist für den Geschirrspüler geeignet, mit der Familie."
    flags = guards.check_language(text, "en")
    assert codes(flags, HARD) == {"wrong_language"}
    assert "German" in flags[0].message


def test_german_text_for_a_german_shop_passes():
    text = "Diese Tasse ist aus Steinzeug und sie ist für den Geschirrspüler geeignet, mit der Familie."
    assert guards.check_language(text, "German") == []
    assert guards.check_language(text, "de-DE") == []


def test_non_latin_script_is_wrong_language():
    assert codes(guards.check_language("Эта кружка сделана из керамики", "en")) == {
        "wrong_language"
    }


def test_short_text_is_not_judged_for_language():
    assert guards.check_language("Clayhouse Tasse", "en") == []


# ---------------------------------------------------------------- coverage and thin products


def test_coverage_counts_key_facts_mentioned():
    score, covered, missing = guards.coverage("Clayhouse stoneware mug, 350 ml, sage green.", MUG)
    assert {"Brand", "Material", "Capacity", "Colour"} <= set(covered)
    assert "Dishwasher safe" in missing
    assert 0.5 < score < 1.0


def test_coverage_is_zero_when_nothing_is_mentioned():
    score, covered, _missing = guards.coverage("A thing.", MUG)
    assert score == 0.0 and covered == []


def test_thin_product_is_flagged_soft_and_still_passes():
    result = check_copy("seo_title", "Mystery Box", {"sku": "X", "title": "Mystery Box"})
    assert "thin_product" in codes(result.flags, SOFT)
    assert result.passed


def test_flags_serialise_for_storage():
    result = check_copy("seo_title", "<b>x</b>", MUG)
    stored = result.flag_dicts()
    assert all({"code", "severity", "message", "detail"} <= set(d) for d in stored)
