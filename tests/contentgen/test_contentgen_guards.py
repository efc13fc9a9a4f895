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


# ---------------------------------------------------------------- invented names and places
# Cases from real SmolLM2-135M outputs (docs/guide/copy-generation.md, sample outputs).

KETTLE = {
    "sku": "KET-1",
    "title": "Copper kettle",
    "brand": "Kuchen",
    "category": "Kitchen > Kettles",
    "price": "89.00",
    "currency": "EUR",
    "attributes": {"Capacity": "1.7 l", "Material": "Copper", "Hob": "Gas and electric"},
}
TEE = {
    "sku": "TEE-1",
    "title": "Organic cotton tee",
    "brand": "Northwear",
    "category": "Clothing > T-shirts",
    "price": "30",
    "attributes": {"Fabric": "Organic cotton", "Colour": "Navy"},
}


def test_invented_city_is_a_hard_origin_claim_named_in_the_message():
    text = (
        "This clay mug is crafted by a skilled artisan in the beautiful city of Kragnaby, "
        "and it's made to perfection."
    )
    flags = guards.check_names(text, MUG)
    assert codes(flags, HARD) == {"unsupported_origin"}
    assert "Kragnaby" in flags[0].message
    assert not check_copy("description", text, MUG).passed


@pytest.mark.parametrize(
    "text",
    [
        "Handcrafted in Portugal by our makers.",
        "Every kettle is manufactured in the United States.",
        "Designed in Denmark for everyday tea.",
        "Woven in the village of Oaxaca from soft yarn.",
    ],
)
def test_places_of_origin_not_in_the_facts_are_hard(text):
    flags = guards.check_names(text, KETTLE)
    assert "unsupported_origin" in codes(flags, HARD)


def test_place_of_origin_given_in_the_facts_passes():
    facts = {**KETTLE, "attributes": {**KETTLE["attributes"], "Origin": "Portugal"}}
    assert guards.check_names("A copper kettle handcrafted in Portugal.", facts) == []


def test_whole_place_name_is_quoted():
    flags = guards.check_names("Manufactured in United States.", KETTLE)
    assert flags[0].detail["names"] == ["United States"]


def test_invented_brand_name_inside_a_sentence_is_a_soft_flag():
    text = "This product, a Northwear organic cotton shirt by Northwind, is soft and warm."
    flags = guards.check_names(text, TEE)
    assert codes(flags) == {"unverified_name"}
    assert flags[0].severity == SOFT
    assert flags[0].detail["names"] == ["Northwind"]
    assert "facts do not mention" in flags[0].message
    result = check_copy("seo_description", text, TEE)
    assert result.passed and "unverified_name" in codes(result.flags, SOFT)


def test_invented_country_and_trade_name_material_are_both_caught():
    text = "A beautiful and functional copper kettle from the UK's Kevlar, crafted with care."
    result = check_copy("seo_description", text, KETTLE)
    assert "unsupported_material" in codes(result.flags, HARD)
    assert any("'kevlar'" in f.message for f in result.flags)
    assert not result.passed


@pytest.mark.parametrize(
    "word", ["Kevlar", "Gore-Tex", "Teflon", "Cordura", "neoprene", "Tyvek", "plexiglass", "PTFE"]
)
def test_trade_name_materials_not_in_the_facts_are_hard(word):
    flags = guards.check_facts(f"A copper kettle with a {word} handle.", KETTLE)
    assert "unsupported_material" in codes(flags, HARD)


def test_trade_name_material_in_the_facts_passes():
    facts = {"title": "Work gloves", "attributes": {"Material": "Kevlar (aramid)"}}
    assert guards.check_facts("Cut-resistant aramid gloves, Kevlar lined.", facts) == []


@pytest.mark.parametrize(
    "text",
    [
        # names from the facts: brand, title, category, attributes
        "Kuchen makes this copper kettle for Gas and electric hobs.",
        "A kettle from Kuchen with a copper body.",
        "The bright kettle, by Kuchen, in Copper, made for every Kitchen.",
        # sentence-initial words, even unusual ones
        "Sturdy and bright. Gleaming copper, warm handle. Boil water fast.",
        # title-case lines (SEO titles, headlines)
        "Kuchen Copper Kettle for Gas and Electric Hobs",
        "The Clayhouse Stoneware Mug - A Unique and Authentic Kitchen Essential",
        # common words capitalised in labels and copy
        "Holds 1.7 l. Package Includes: one kettle. Easy to clean and Great for tea.",
        "Boil water in minutes on Monday or any day, the Kuchen way.",
        # acronyms and model codes are not judged as names
        "Works on AC power and fits the TR150 stand, Kuchen says.",
        # words after a colon, quotes and dashes start a new phrase
        'Why we love it: "Bright copper" - Elegant on any hob.',
    ],
)
def test_copy_using_only_known_or_common_words_has_no_name_flag(text):
    assert guards.check_names(text, KETTLE | {"title": "Copper kettle", "brand": "Kuchen"}) == []


def test_names_in_existing_copy_and_preferred_phrases_are_known():
    facts = {**KETTLE, "description": "Inspired by the Alpine mountain huts of old."}
    assert guards.check_names("A kettle for your Alpine kitchen.", facts) == []
    voice = {"prefer_phrases": ["the Kuchen Promise", "Made for Sundays"]}
    assert (
        guards.check_names("Backed by the Kuchen Promise and loved by cooks.", KETTLE, voice) == []
    )


def test_possessive_and_plural_of_a_known_name_pass():
    assert (
        guards.check_names("Loved by fans of Kuchen's copper range and all Kuchens.", KETTLE) == []
    )


def test_german_copy_capitalises_nouns_and_is_not_name_checked():
    text = "Der Wasserkocher aus Kupfer ist ideal für die Küche und den Gasherd."
    assert guards.check_names(text, KETTLE, {"language": "German"}) == []


def test_french_copy_is_name_checked():
    text = "Une bouilloire en cuivre fabriquée par Lefèvre pour votre cuisine."
    flags = guards.check_names(text, KETTLE, {"language": "fr"})
    assert flags and flags[0].detail["names"] == ["Lefèvre"]


def test_material_words_capitalised_are_left_to_the_material_guard():
    flags = guards.check_names("A kettle in polished Copper with a Steel lid.", KETTLE)
    assert flags == []
    assert "unsupported_material" in codes(guards.check_facts("with a Steel lid", KETTLE), HARD)


def test_several_names_are_one_flag_listing_them():
    text = "Used by chefs in London and Paris, and praised by Gordon at Harrods."
    flags = guards.check_names(text, KETTLE)
    assert len(flags) == 1
    assert flags[0].detail["names"] == ["London", "Paris", "Gordon", "Harrods"]


# ---------------------------------------------------------------- fact labels instead of copy


def test_headlines_that_are_mostly_fact_labels_are_hard():
    headlines = [
        "Stoneware mug",
        "Brand: Clayhouse",
        "Category: Kitchen > Mugs",
        "Price: 18.00 EUR",
        "Capacity: 350 ml",
        "Colour: Sage green",
    ]
    result = check_copy("ad_headline", headlines, MUG)
    flag = next(f for f in result.flags if f.code == "data_label")
    assert flag.severity == HARD
    assert "data label" in flag.message and "Brand: Clayhouse" in flag.message
    assert flag.detail["count"] == 5
    assert not result.passed


def test_one_label_among_many_good_headlines_is_soft():
    headlines = [
        "Clayhouse Stoneware Mug",
        "Sage Green, 350 ml",
        "Made for Slow Mornings",
        "Dishwasher Safe Stoneware",
        "Material: Stoneware",
    ]
    flags = guards.check_labels("ad_headline", headlines, MUG)
    assert [(f.code, f.severity) for f in flags] == [("data_label", SOFT)]


@pytest.mark.parametrize(
    "headlines",
    [
        ["Price: 4.99 EUR", "Size: 1 x 3/8 in", "Material: Brass", "Pack: 2 pcs"],
        ["Sustainable and Versatile", "Price: 30 EUR", "Size: Relaxing", "Fabric: Organic cotton"],
        ["PriceRange: 20.95 EUR", "MaterialRange: Copper", "Copper kettle", "Kettle for tea"],
    ],
)
def test_real_label_headline_sets_are_hard(headlines):
    assert "data_label" in codes(guards.check_labels("ad_headline", headlines, FITTING), HARD)


def test_seo_title_that_is_a_label_is_hard():
    result = check_copy("seo_title", "Product: Organic cotton tee", TEE)
    flag = next(f for f in result.flags if f.code == "data_label")
    assert flag.severity == HARD
    assert flag.message.startswith("The text reads like a data label")


def test_label_with_an_attribute_name_of_the_product_is_a_label():
    assert codes(guards.check_labels("seo_title", "Hob: Gas and electric", KETTLE), HARD) == {
        "data_label"
    }


def test_label_lines_in_a_description_are_soft():
    text = "A bright copper kettle for every kitchen.\nCapacity: 1.7 l\nMaterial: Copper"
    flags = guards.check_labels("description", text, KETTLE)
    assert [(f.code, f.severity) for f in flags] == [("data_label", SOFT)]


def test_spec_style_bullets_are_only_a_soft_label_flag():
    bullets = ["Capacity: 1.7 l", "Material: Copper", "Works on gas and electric hobs"]
    flags = guards.check_labels("bullets", bullets, KETTLE)
    assert [(f.code, f.severity) for f in flags] == [("data_label", SOFT)]
    assert flags[0].detail["count"] == 2


@pytest.mark.parametrize(
    "value,kind",
    [
        ("Kuchen Copper Kettle: Boil Water in Style", "seo_title"),
        ("Tea time: a copper kettle that boils fast on gas and electric hobs.", "seo_description"),
        (["Copper Kettle by Kuchen", "Boils Fast: 1.7 l", "Gas and Electric Hobs"], "ad_headline"),
        ("Note: the handle stays cool while the water boils on any hob.", "seo_description"),
    ],
)
def test_colons_in_real_copy_are_not_labels(value, kind):
    assert guards.check_labels(kind, value, KETTLE) == []


# ---------------------------------------------------------------- prompt fence markers echoed


@pytest.mark.parametrize(
    "value,kind",
    [
        ("<<<PRODUCT>>", "seo_title"),
        ("<<<PRODUCT>>>", "seo_description"),
        ("<<<Title: Compression fitting>>", "seo_title"),
        ("<Product Title: Natural cotton t-shirt", "seo_title"),
        ("Copper kettle <<<END PRODUCT>>>", "seo_title"),
        ("<<<BRAND VOICE>>> friendly copy", "seo_description"),
        ("A kettle.<|im_end|>", "seo_description"),
        (
            ["<<<Product: Stoneware mug>>", "Stoneware mug", "Clayhouse Mug", "Sage Green"],
            "ad_headline",
        ),
        (["<<<PUBLICITY EXPECTED>>", "Copper Kettle", "Boils Fast", "Gas Hobs"], "ad_headline"),
    ],
)
def test_echoed_fence_markers_are_hard(value, kind):
    result = check_copy(kind, value, KETTLE)
    flag = next(f for f in result.flags if f.code == "prompt_echo")
    assert flag.severity == HARD
    assert "markers" in flag.message
    assert not result.passed


@pytest.mark.parametrize(
    "text",
    [
        "WATCH HERE --->> the setup video in the box.",
        "Smooth flat surface. >>> SUGGESTED USES: dressing grinding wheels.",
        "Holds < 400 ml and > 300 ml.",
        "Product of the year, Kuchen.",
    ],
)
def test_arrows_and_comparisons_are_not_fence_markers(text):
    assert guards.check_prompt_echo(text) == []


def test_fence_markers_from_the_prompt_module_are_all_caught():
    from contentgen.prompts import build_messages

    user = build_messages(KETTLE, "seo_title")[1]["content"]
    fences = [ln for ln in user.splitlines() if ln.startswith("<<<")]
    assert len(fences) >= 2
    for fence in fences:
        assert codes(guards.check_prompt_echo(fence), HARD) == {"prompt_echo"}


def test_good_copy_passes_all_new_guards():
    text = (
        "Kuchen's copper kettle holds 1.7 l and works on gas and electric hobs. "
        "The copper body heats quickly and looks warm on any stove, and the kettle "
        "pours cleanly for tea or coffee."
    )
    result = check_copy("seo_description", text[:155].rsplit(" ", 1)[0] + ".", KETTLE)
    assert result.passed, result.flags
    assert not codes(result.flags) & {"unverified_name", "data_label", "prompt_echo"}
