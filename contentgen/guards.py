"""Guards: checks run on every generated text (pure, no Django import).

Each guard returns a list of :class:`Flag` with a plain-language message a
merchant understands and a severity:

- ``hard``: the text must not be offered as is (over length, empty, cut off,
  degenerate, a claim not backed by the product's facts, a place of origin the
  facts do not give, a banned word, markup or links, the prompt's fence markers
  echoed, meta-talk about the task ("Here's the edited version", "As an AI"), a
  headline or title that is a fact label, wrong language). Generation regenerates with another seed, and a
  text still failing is kept with its flags for a human to decide.
- ``soft``: worth a reviewer's look (a little short, an unverified bare number,
  a name or brand the facts do not mention, a superlative, duplicate headlines,
  label lines in a description, a thin product, a description that mentions
  under half of the product's key facts).

:func:`check_copy` runs all guards for one draft value and also computes the
attribute-coverage score (which of the product's key facts the text mentions).

The factual-claim guard is deliberately conservative: a claim passes only when
the same value (numbers compared as values, so ``1-9/16`` is 1.5625 and never
matches ``9/16``) or the same term (materials, certifications) appears
somewhere in the product's facts. It errs toward flagging, since the reviewer
can approve anyway, while an invented "steel" on a copper product cannot be
taken back once shoppers read it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

from contentgen.facts import fact_items, is_thin, key_facts
from contentgen.specs import KindSpec, get_spec

__all__ = [
    "HARD",
    "SOFT",
    "Flag",
    "GuardResult",
    "check_copy",
    "check_length",
    "check_empty_or_truncated",
    "check_repetition",
    "check_facts",
    "check_names",
    "check_labels",
    "check_prompt_echo",
    "check_meta_talk",
    "check_key_facts",
    "check_banned",
    "check_markup",
    "check_language",
    "check_thin",
    "coverage",
    "extract_numbers",
    "detect_language",
]

HARD = "hard"
SOFT = "soft"


@dataclass(frozen=True)
class Flag:
    """One guard finding. ``code`` is stable (for filters); ``message`` is for people."""

    code: str
    severity: str
    message: str
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class GuardResult:
    flags: list[Flag]
    coverage: float
    covered: list[str]
    missing: list[str]

    @property
    def passed(self) -> bool:
        """True when no hard guard failed."""
        return not any(f.severity == HARD for f in self.flags)

    @property
    def hard_count(self) -> int:
        return sum(1 for f in self.flags if f.severity == HARD)

    def flag_dicts(self) -> list[dict]:
        return [f.to_dict() for f in self.flags]


def _items(value: str | list[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _joined(value: str | list[str]) -> str:
    return "\n".join(_items(value))


def _norm(text: str) -> str:
    """Lowercase, accents kept, hyphens/underscores/slashes as spaces, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[-_/]+", " ", text)
    text = re.sub(r"[^\w%.+ ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _contains_phrase(haystack_norm: str, phrase: str) -> bool:
    needle = _norm(phrase)
    if not needle:
        return False
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack_norm) is not None


def _quote(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- length


def check_length(kind: str, value: str | list[str]) -> list[Flag]:
    """Over the kind's character limit (hard), item counts (hard), word range (soft)."""
    spec = get_spec(kind)
    flags: list[Flag] = []
    items = _items(value)
    for i, item in enumerate(items):
        n = len(item.strip())
        if n > spec.max_chars:
            where = f"Item {i + 1} ({_quote(item)!r})" if spec.is_list else "The text"
            flags.append(
                Flag(
                    "over_length",
                    HARD,
                    f"{where} is {n} characters; the limit for {spec.label.lower()} is {spec.max_chars}.",
                    {"item": i, "length": n, "limit": spec.max_chars},
                )
            )
    if spec.is_list:
        count = len([i for i in items if i.strip()])
        if count < spec.min_items:
            flags.append(
                Flag(
                    "too_few_items",
                    HARD,
                    f"Only {count} usable {spec.label.lower()}; at least {spec.min_items} are needed.",
                    {"count": count, "min": spec.min_items},
                )
            )
        elif count > spec.max_items:
            flags.append(
                Flag(
                    "too_many_items",
                    HARD,
                    f"{count} {spec.label.lower()}; at most {spec.max_items} are allowed.",
                    {"count": count, "max": spec.max_items},
                )
            )
    if spec.max_words:
        words = len(_joined(value).split())
        if words > spec.max_words:
            flags.append(
                Flag(
                    "too_long_words",
                    SOFT,
                    f"The text has {words} words; aim for {spec.min_words}-{spec.max_words}.",
                    {"words": words},
                )
            )
    return flags


# --------------------------------------------------------------------------- empty / truncated

_TERMINAL = tuple('.!?…"”’)»')


def check_empty_or_truncated(
    kind: str, value: str | list[str], *, truncated: bool = False
) -> list[Flag]:
    """Empty text (hard), cut off by the token limit (hard), too short (hard/soft), no final punctuation (soft)."""
    spec = get_spec(kind)
    text = _joined(value).strip()
    if not text:
        return [Flag("empty", HARD, "The model wrote nothing usable.")]
    flags: list[Flag] = []
    if truncated:
        flags.append(
            Flag(
                "truncated",
                HARD,
                "The text was cut off because the model hit its length limit before finishing.",
            )
        )
    if not spec.is_list:
        words = len(text.split())
        if spec.min_words and words < spec.min_words // 2:
            flags.append(
                Flag(
                    "too_short",
                    HARD,
                    f"The text has only {words} words; a {spec.label.lower()} needs about {spec.min_words}-{spec.max_words}.",
                    {"words": words},
                )
            )
        elif spec.min_words and words < spec.min_words:
            flags.append(
                Flag(
                    "short",
                    SOFT,
                    f"The text has {words} words; aim for {spec.min_words}-{spec.max_words}.",
                    {"words": words},
                )
            )
        elif len(text) < spec.min_chars:
            flags.append(
                Flag(
                    "short",
                    SOFT,
                    f"The text is only {len(text)} characters long.",
                    {"length": len(text)},
                )
            )
        if (
            spec.name in ("description", "seo_description")
            and not truncated
            and not text.endswith(_TERMINAL)
        ):
            flags.append(
                Flag(
                    "unfinished",
                    SOFT,
                    "The text does not end with a full stop; it may stop mid-sentence.",
                )
            )
    return flags


# --------------------------------------------------------------------------- repetition

_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text)]


def check_repetition(kind: str, value: str | list[str]) -> list[Flag]:
    """Repeated phrases, stutters, character runs, symbol soup, duplicate list items."""
    spec = get_spec(kind)
    flags: list[Flag] = []
    text = _joined(value)
    words = _words(text)

    run = re.search(r"(\S)\1{5,}", text)
    if run:
        flags.append(
            Flag(
                "degenerate",
                HARD,
                f"The character {run.group(1)!r} is repeated {len(run.group(0))} times in a row.",
            )
        )
    stutter = re.search(r"\b(\w+)(?:\W+\1\b){2,}", text, re.IGNORECASE)
    if stutter:
        flags.append(
            Flag(
                "repeated_word",
                HARD,
                f"The word {stutter.group(1)!r} is repeated several times in a row.",
            )
        )
    non_space = [c for c in text if not c.isspace()]
    if len(non_space) >= 12:
        letters = sum(1 for c in non_space if c.isalpha())
        if letters / len(non_space) < 0.5:
            flags.append(
                Flag(
                    "degenerate",
                    HARD,
                    "The text is mostly symbols or digits rather than words.",
                )
            )
    for n, limit in ((4, 3), (3, 4)):
        counts: dict[tuple[str, ...], int] = {}
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            counts[gram] = counts.get(gram, 0) + 1
        worst = max(counts.items(), key=lambda kv: kv[1], default=None)
        if worst and worst[1] >= limit:
            flags.append(
                Flag(
                    "repeated_phrase",
                    HARD,
                    f"The phrase {' '.join(worst[0])!r} appears {worst[1]} times.",
                    {"phrase": " ".join(worst[0]), "count": worst[1]},
                )
            )
            break
    if not spec.is_list:
        sentences = [
            s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4
        ]
        seen: set[str] = set()
        for s in sentences:
            if s in seen:
                flags.append(
                    Flag("repeated_sentence", HARD, f"The sentence {_quote(s)!r} appears twice.")
                )
                break
            seen.add(s)
        if len(words) >= 30 and len(set(words)) / len(words) < 0.35:
            flags.append(
                Flag(
                    "degenerate",
                    HARD,
                    "The text keeps reusing the same few words.",
                    {"distinct_ratio": round(len(set(words)) / len(words), 2)},
                )
            )
    else:
        seen_items: set[str] = set()
        for item in _items(value):
            key = " ".join(_words(item))
            if key and key in seen_items:
                flags.append(
                    Flag(
                        "duplicate_item",
                        SOFT,
                        f"{_quote(item)!r} appears more than once.",
                    )
                )
                break
            seen_items.add(key)
    return flags


# --------------------------------------------------------------------------- factual claims

_UNICODE_FRACTIONS = {
    "½": 0.5,
    "⅓": 1 / 3,
    "⅔": 2 / 3,
    "¼": 0.25,
    "¾": 0.75,
    "⅕": 0.2,
    "⅛": 0.125,
    "⅜": 0.375,
    "⅝": 0.625,
    "⅞": 0.875,
}
_UF = "".join(_UNICODE_FRACTIONS)

# Units, longest first so "mah" wins over "m". Grouped by dimension for messages.
_UNITS = {
    "length": "mm cm m km in inch inches ft feet foot yd yard yards mi mile miles \" ''",
    "weight": "mg g gram grams kg kilo kilos kilogram kilograms lb lbs pound pounds oz ounce ounces ct carat carats",
    "volume": "ml cl l liter liters litre litres gal gallon gallons qt quart quarts pint pints cup cups fl oz floz",
    "power": "w watt watts kw kwh wh mah v volt volts a amp amps hz khz mhz ghz",
    "data": "kb mb gb tb mbps gbps mp megapixel megapixels px dpi",
    "time": "s sec secs second seconds min mins minute minutes h hr hrs hour hours day days week weeks month months year years yr yrs",
    "other": "% percent °c °f ° c f psi bar rpm db lm lumens k tpi awg gauge pcs pc pieces piece pack packs count x mph kmh sq",
}
_UNIT_DIMENSION = {u: dim for dim, units in _UNITS.items() for u in units.split()}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNIT_DIMENSION, key=len, reverse=True))

_NUMBER_CORE = (
    r"(?P<mixed>(?P<mw>\d+)(?:\s+|-)(?P<mn>\d+)/(?P<md>\d+))"
    rf"|(?P<umixed>(?P<uw>\d+)\s?(?P<uf>[{_UF}]))"
    rf"|(?P<ufrac>[{_UF}])"
    r"|(?P<frac>(?P<fn>\d+)/(?P<fd>\d+))"
    r"|(?P<thou>\d{1,3}(?:,\d{3})+(?:\.\d+)?)"
    r"|(?P<dec>\d+(?:[.,]\d+)?)"
)
_NUMBER_RE = re.compile(
    r"(?:(?<=[xX×])|(?<![\w.]))(?P<cur>[$€£¥])?\s?(?:" + _NUMBER_CORE + r")"
    r"(?:\s?-?\s?(?P<unit>" + _UNIT_ALT + r")(?![a-z]))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumberMention:
    text: str
    value: float
    unit: str | None

    @property
    def dimension(self) -> str | None:
        if self.unit is None:
            return None
        if self.unit in "$€£¥":
            return "money"
        return _UNIT_DIMENSION.get(self.unit.lower())


def extract_numbers(text: str) -> list[NumberMention]:
    """Numbers in ``text`` as values with their unit, if any.

    Mixed fractions are one value: ``1-9/16"`` and ``1 9/16 in`` are 1.5625, never
    1 and 9/16; ``9/16`` is 0.5625; ``1½`` is 1.5; ``1,200`` is 1200 and ``2,5`` is 2.5.
    """
    out: list[NumberMention] = []
    for m in _NUMBER_RE.finditer(text):
        g = m.groupdict()
        try:
            if g["mixed"]:
                value = int(g["mw"]) + int(g["mn"]) / int(g["md"])
            elif g["umixed"]:
                value = int(g["uw"]) + _UNICODE_FRACTIONS[g["uf"]]
            elif g["ufrac"]:
                value = _UNICODE_FRACTIONS[g["ufrac"]]
            elif g["frac"]:
                value = int(g["fn"]) / int(g["fd"])
            elif g["thou"]:
                value = float(g["thou"].replace(",", ""))
            else:
                value = float(g["dec"].replace(",", "."))
        except ZeroDivisionError:
            continue
        unit = g["unit"]
        if g["cur"]:
            unit = g["cur"]
        elif unit and not _unit_is_real(m):
            unit = None
        out.append(
            NumberMention(
                m.group(0).strip() if unit else _number_text(m),
                value,
                unit.lower() if unit else None,
            )
        )
    return out


_AMBIGUOUS_UNITS = {"a", "s", "h", "k", "x", "c", "f", "''"}
_INCH_FOLLOWERS = re.compile(
    r"\s+(?:long|wide|tall|high|deep|thick|diameter|length|width|height|x)\b", re.IGNORECASE
)


def _unit_is_real(m: re.Match) -> bool:
    """Single letters count as units only written tight ("5V", "2x"); "in" only when it reads as inches."""
    unit = m.group("unit").lower()
    tight = m.string[m.start("unit") - 1 : m.start("unit")] not in (" ", "-")
    if unit in _AMBIGUOUS_UNITS:
        return tight
    if unit == "in" and not tight:
        if (
            m.group("mixed")
            or m.group("frac")
            or m.group("umixed")
            or m.group("ufrac")
            or "." in (m.group("dec") or "")
        ):
            return True  # "9/16 in pipes": fractions before "in" are inches
        rest = m.string[m.end("unit") :]
        return not re.match(r"\s+[A-Za-z]", rest) or bool(_INCH_FOLLOWERS.match(rest))
    return True


def _number_text(m: re.Match) -> str:
    text = m.group(0)
    if m.group("unit"):
        text = text[: m.start("unit") - m.start(0)]
    return text.strip()


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


# Materials: a claim passes when the same term (or a synonym) is in the facts.
# Longer terms first so "stainless steel" is one claim, not "steel".
_MATERIAL_GROUPS: list[tuple[str, ...]] = [
    ("stainless steel", "inox"),
    ("carbon steel",),
    ("cast iron",),
    ("wrought iron",),
    ("steel",),
    ("copper",),
    ("brass",),
    ("bronze",),
    ("aluminium", "aluminum"),
    ("titanium",),
    ("zinc",),
    ("nickel",),
    ("pewter",),
    ("platinum",),
    ("sterling silver",),
    ("solid gold",),
    ("gold",),
    ("silver",),
    ("organic cotton",),
    ("cotton",),
    ("linen",),
    ("merino",),
    ("wool",),
    ("cashmere",),
    ("alpaca",),
    ("silk",),
    ("polyester",),
    ("nylon",),
    ("spandex", "elastane", "lycra"),
    ("rayon", "viscose"),
    ("acrylic",),
    ("denim",),
    ("fleece",),
    ("velvet",),
    ("suede",),
    ("genuine leather", "real leather", "full grain leather", "full-grain leather"),
    ("faux leather", "vegan leather", "pu leather"),
    ("leather",),
    ("vinyl", "pvc"),
    ("rubber",),
    ("silicone",),
    ("latex",),
    ("plastic",),
    ("polypropylene",),
    ("polycarbonate",),
    ("tempered glass",),
    ("glass",),
    ("ceramic",),
    ("porcelain",),
    ("stoneware",),
    ("marble",),
    ("granite",),
    ("concrete",),
    ("solid wood",),
    ("oak",),
    ("walnut",),
    ("maple",),
    ("pine",),
    ("teak",),
    ("bamboo",),
    ("birch",),
    ("mahogany",),
    ("cedar",),
    ("beech",),
    ("rattan",),
    ("wicker",),
    ("cork",),
    ("carbon fiber", "carbon fibre"),
    ("fiberglass", "fibreglass"),
    # Trade-name and engineering materials (a model likes to drop these in).
    ("kevlar", "aramid"),
    ("gore tex", "goretex", "gore-tex"),
    ("teflon", "ptfe"),
    ("cordura",),
    ("tyvek",),
    ("neoprene",),
    ("nomex",),
    ("dyneema",),
    ("plexiglass", "plexiglas", "perspex", "lucite"),
    ("delrin", "acetal"),
    ("viton",),
    ("corian",),
    ("formica",),
    ("micarta",),
    ("bakelite",),
    ("mylar",),
    ("polystyrene", "styrofoam"),
    ("polyurethane",),
    ("polyethylene", "hdpe", "ldpe"),
    ("tungsten carbide",),
    ("tungsten",),
    ("memory foam",),
    ("jute",),
    ("hemp",),
    ("canvas",),
]

# Certifications and regulated claims (hard when not in the facts).
_CERTIFICATIONS: list[tuple[str, str]] = [
    # (regex, name shown to the merchant); case-sensitive acronyms use (?-i:...)
    (r"(?-i:\bCE\b)(?:[- ]marked| certified| mark)?", "CE marking"),
    (r"(?-i:\bUL\b)(?:[- ]listed| certified)?", "UL listing"),
    (r"(?-i:\bETL\b)", "ETL listing"),
    (r"(?-i:\bFCC\b)", "FCC certification"),
    (r"\bFDA(?:[- ](?:approved|cleared|registered))?\b", "FDA approval"),
    (r"\bISO\s?\d{3,5}\b", "ISO certification"),
    (r"(?-i:\bFSC\b)", "FSC certification"),
    (r"\benergy star\b", "Energy Star"),
    (r"\bbpa[- ]free\b", "BPA-free"),
    (r"\boeko[- ]?tex\b", "OEKO-TEX"),
    (r"(?-i:\bGOTS\b)", "GOTS certification"),
    (r"\busda\b", "USDA"),
    (r"\bcertified\b", "a certification"),
    (r"\borganic\b", "organic"),
    (r"\bvegan\b", "vegan"),
    (r"\bcruelty[- ]free\b", "cruelty-free"),
    (r"\bhypoallergenic\b", "hypoallergenic"),
    (r"(?-i:\bRoHS\b)", "RoHS"),
    (r"(?-i:\bNSF\b)", "NSF"),
    (r"\bIP[X\d]\d\b", "an IP rating"),
    (r"\bwaterproof\b", "waterproof"),
    (r"\bwater[- ]resistant\b", "water-resistant"),
    (r"\bfire(?:proof|[- ]resistant|[- ]retardant)\b", "fire resistance"),
    (r"\b(?:dishwasher|microwave|oven|freezer|food)[- ]safe\b", "a safety claim"),
    (r"\bnon[- ]toxic\b", "non-toxic"),
    (r"\brecycl(?:ed|able)\b", "recycled/recyclable"),
    (r"\bbiodegradable\b", "biodegradable"),
    (r"\bcompostable\b", "compostable"),
    (r"\bfair[- ]?trade\b", "fair trade"),
    (r"\bpatent(?:ed)?\b", "a patent"),
    (r"\bgluten[- ]free\b", "gluten-free"),
    (r"\b(?:kosher|halal)\b", "kosher/halal"),
    (r"\b(?:clinically|dermatologically|lab)[- ](?:proven|tested)\b", "a tested/proven claim"),
    (r"\bwarrant(?:y|ies|ied)\b", "a warranty"),
    (r"\bguarantee[ds]?\b", "a guarantee"),
    (r"\bmade in (?:the )?[A-Z][a-z]+(?: [A-Z][a-z]+)?", "country of origin"),
    (r"\bhand[- ]?made\b", "handmade"),
]
_CERT_RES = [(re.compile(p, re.IGNORECASE), name) for p, name in _CERTIFICATIONS]

# Marketing claims that are not checkable facts: soft.
_SOFT_CLAIMS = [
    (r"\b(?:the )?best(?:[- ]selling|seller)?\b", "a 'best' claim"),
    (r"#\s?1\b|\bnumber one\b|\bno\. ?1\b", "a 'number one' claim"),
    (r"\baward[- ]winning\b", "an award claim"),
    (r"\bcheapest\b|\blowest price\b", "a price comparison"),
    (r"\bfree (?:shipping|delivery|returns)\b", "a shipping promise"),
    (r"\b\d+\s?% off\b|\bon sale\b|\bdiscount(?:ed)?\b", "a discount claim"),
]
_SOFT_RES = [(re.compile(p, re.IGNORECASE), name) for p, name in _SOFT_CLAIMS]


def _facts_text(facts: dict) -> str:
    return "\n".join(f"{label}: {value}" for label, value in fact_items(facts))


# The claim vocabularies as plain terms, for grounded decoding (contentgen.grounding), which
# keeps the model from writing a term the facts lack; the regexes above stay the judge.
MATERIAL_GROUPS: list[tuple[str, ...]] = _MATERIAL_GROUPS
UNIT_DIMENSION: dict[str, str] = _UNIT_DIMENSION
AMBIGUOUS_UNITS: frozenset[str] = frozenset(_AMBIGUOUS_UNITS)
CLAIM_TERMS: list[tuple[str, ...]] = [
    ("CE",),
    ("UL",),
    ("ETL",),
    ("FCC",),
    ("FSC",),
    ("GOTS",),
    ("NSF",),
    ("RoHS",),
    ("fda",),
    ("usda",),
    ("energy star",),
    ("bpa free",),
    ("oeko tex", "oekotex"),
    ("certified",),
    ("organic",),
    ("vegan",),
    ("cruelty free",),
    ("hypoallergenic",),
    ("waterproof",),
    ("water resistant",),
    ("fireproof", "fire resistant", "fire retardant"),
    ("dishwasher safe",),
    ("microwave safe",),
    ("oven safe",),
    ("freezer safe",),
    ("food safe",),
    ("non toxic",),
    ("recycled", "recyclable"),
    ("biodegradable",),
    ("compostable",),
    ("fair trade", "fairtrade"),
    ("patent", "patented"),
    ("gluten free",),
    ("kosher",),
    ("halal",),
    ("clinically proven", "clinically tested"),
    ("dermatologically tested", "dermatologically proven"),
    ("lab tested", "lab proven"),
    ("warranty", "warranties", "warrantied"),
    ("guarantee", "guaranteed", "guarantees"),
    ("handmade", "hand made"),
]
ORIGIN_CUE_WORDS = frozenset(
    "made crafted handcrafted produced manufactured designed sourced grown woven brewed based born".split()
)


same_value = _same_value  # numbers compared as the claim guards compare them


def facts_corpus(facts: dict) -> str:
    """The product's facts as the claim guards read them (one "label: value" line each)."""
    return _facts_text(facts)


def phrase_in(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, as the claim guards compare."""
    return _contains_phrase(_norm(text), phrase)


def check_facts(value: str | list[str], facts: dict) -> list[Flag]:
    """Claims in the text that the product's facts do not back up.

    Hard: a number with a unit whose value is not in the facts (or is there
    with a different kind of unit), a material, a certification or regulated
    claim (warranty, waterproof, made in ...) that the facts do not mention.
    Soft: a bare number not in the facts; superlatives and promises.
    """
    text = _joined(value)
    corpus = _facts_text(facts)
    corpus_norm = _norm(corpus)
    fact_numbers = extract_numbers(corpus)
    flags: list[Flag] = []
    reported: set[str] = set()

    for mention in extract_numbers(text):
        matches = [n for n in fact_numbers if _same_value(n.value, mention.value)]
        key = f"num:{mention.value}:{mention.dimension}"
        if key in reported:
            continue
        if not matches:
            reported.add(key)
            if mention.unit:
                flags.append(
                    Flag(
                        "unsupported_number",
                        HARD,
                        f"{mention.text!r} is not in the product's facts; the model may have invented it.",
                        {"claim": mention.text},
                    )
                )
            else:
                flags.append(
                    Flag(
                        "unverified_number",
                        SOFT,
                        f"The number {mention.text!r} does not appear in the product's facts.",
                        {"claim": mention.text},
                    )
                )
            continue
        dims = {n.dimension for n in matches}
        if (
            mention.dimension
            and mention.dimension != "money"
            and None not in dims
            and mention.dimension not in dims
        ):
            reported.add(key)
            fact_units = ", ".join(sorted({n.text for n in matches}))
            flags.append(
                Flag(
                    "wrong_unit",
                    HARD,
                    f"{mention.text!r} uses a different unit from the facts ({fact_units}).",
                    {"claim": mention.text},
                )
            )

    text_norm = _norm(text)
    consumed = text_norm
    for group in _MATERIAL_GROUPS:
        for term in group:
            pattern = r"(?<!\w)" + re.escape(_norm(term)) + r"(?!\w)"
            if re.search(pattern, consumed):
                consumed = re.sub(pattern, " ", consumed)
                if not any(_contains_phrase(corpus_norm, t) for t in group):
                    flags.append(
                        Flag(
                            "unsupported_material",
                            HARD,
                            f"The text says {term!r}, but the product's facts do not mention that material.",
                            {"claim": term},
                        )
                    )
                break

    for regex, name in _CERT_RES:
        for m in regex.finditer(text):
            claim = m.group(0)
            if _contains_phrase(corpus_norm, claim) or (
                claim.isupper() and re.search(r"(?<!\w)" + re.escape(claim) + r"(?!\w)", corpus)
            ):
                continue
            flags.append(
                Flag(
                    "unsupported_claim",
                    HARD,
                    f"The text claims {name} ({claim!r}), which the product's facts do not state.",
                    {"claim": claim},
                )
            )
            break

    for regex, name in _SOFT_RES:
        m = regex.search(text)
        if m and not _contains_phrase(corpus_norm, m.group(0)):
            flags.append(
                Flag(
                    "marketing_claim",
                    SOFT,
                    f"The text makes {name} ({m.group(0)!r}); check that you can stand behind it.",
                    {"claim": m.group(0)},
                )
            )
    return flags


# --------------------------------------------------------------------------- names and places

# Words that are capitalised in ordinary copy without being names: title-case
# words of product copy, months and days, and the words the prompts themselves use.
_COMMON_CAPITALISED = set(
    """
    i a an the and or of for with to in on at by from your our my its this that these those
    you we it they he she his her their us me who what when where why how which each every
    new all one two three four five ten top pro plus max mini ultra premium classic original
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december christmas easter
    ok okay yes no note notes tip tips bonus sale shop buy order now today free
    package packaging includes include included type size sizes range weight color colour colors
    colours length width height depth diameter thickness material temperature high low easy
    heavy duty light quality features specification specifications spec specs warning caution
    use usage application applications capacity model item items set kit pack design standard
    professional industrial safety power voltage current water air acid oil gas fuel black white
    red blue green yellow orange purple pink brown grey gray silver clear natural dark
    small medium large extra great good perfect ideal best better strong durable super quick
    if then than but so not can will have has is are be do does any more most only also just
    very up out over under after before as into get make see stop try let celsius fahrenheit
    """.split()
)
# Words of the kinds' own vocabulary (what the prompts ask for, how a model labels its answer).
_KIND_VOCABULARY = set(
    """
    seo title meta description product products headline headlines ad ads bullet bullets
    feature features copy brand category price kitchen home
    """.split()
)
# English suffixes of ordinary words ("Testing", "International"), rare in made-up names.
_COMMON_SUFFIXES = (
    "ing",
    "tion",
    "tions",
    "sion",
    "ment",
    "ments",
    "ness",
    "able",
    "ible",
    "ity",
    "ous",
    "ive",
    "ful",
    "less",
    "ance",
    "ence",
    "ized",
    "ised",
    "ally",
    "ical",
    "ional",
    "ture",
    "ics",
)
# Cues that make the following name a claim of origin (hard when the facts lack it).
_ORIGIN_CUE = re.compile(
    r"\b(?:(?:city|town|village|region|province|county|island|mountains?|valley) of"
    r"|(?:crafted|handcrafted|produced|manufactured|designed|sourced|grown|woven|"
    r"brewed|based|born) in(?: the)?)\s+(?=[A-Z])",
    re.IGNORECASE,
)
_NAME_TOKEN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’&.-]*\w|[A-Za-zÀ-ÖØ-öø-ÿ]")
# Material words are the material guard's business (hard when not in the facts).
_MATERIAL_WORDS = {w for group in _MATERIAL_GROUPS for term in group for w in _norm(term).split()}
# "Staple Type:", "For Use With:": words of a label before a colon are not names.
_LABEL_PHRASE = re.compile(r"(?:\b[A-Z][\w&/.-]*\s+){0,3}\b[A-Z][\w&/.-]*\s*:")
# Languages whose common nouns are capitalised: a capital says nothing about a name.
_NOUN_CAPITALISING = {"de"}


def _word_forms(word: str) -> set[str]:
    low = word.lower().replace("’", "'")
    low = re.sub(r"'s$|'$", "", low)
    forms = {low, low.rstrip(".")}
    for suffix in ("es", "s"):
        if low.endswith(suffix) and len(low) > len(suffix) + 2:
            forms.add(low[: -len(suffix)])
    return forms


def _sentence_starts(text: str) -> set[int]:
    """Offsets of the first word of each sentence, line, list item or quotation."""
    starts = {0}
    for pattern in (r"[.!?:;…]+[\"'”’)]*\s+", r"\n\s*", r"^\s*", r"[\"“(]\s*", r"\s[-–—•|]\s*"):
        starts |= {m.end() for m in re.finditer(pattern, text)}
    return starts


def _is_title_case(line: str) -> bool:
    words = [w for w in _NAME_TOKEN.findall(line) if len(w) > 3]
    if len(words) < 2:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) >= 0.6 and len(words) - caps <= 1


def _unknown_names(text: str, known: set[str]) -> list[tuple[str, bool]]:
    """Capitalised words not in ``known`` (lowercase word forms): ``[(name, after_origin_cue)]``."""
    found: list[tuple[str, bool]] = []
    seen: set[str] = set()
    origin_starts = {m.end() for m in _ORIGIN_CUE.finditer(text)}
    lower_words = {w for w in _NAME_TOKEN.findall(text) if w.islower()}
    known = known | {f for w in lower_words for f in _word_forms(w)}
    in_labels = {i for m in _LABEL_PHRASE.finditer(text) for i in range(m.start(), m.end())}
    for line_match in re.finditer(r"[^\n]+", text):
        line = line_match.group(0)
        offset = line_match.start()
        title_case = _is_title_case(line)
        starts = _sentence_starts(line)
        # "Professional Grade Precision Tool", "User Manual Included": three or more
        # capitalised words in a row are a title-case fragment, not a name to check
        in_runs = {
            i
            for run in re.finditer(
                r"(?:\b[A-Z][\w'’&.-]*(?:\s+|\s*&\s*)){2,}\b[A-Z][\w'’&.-]*", line
            )
            for i in range(run.start(), run.end())
        }
        for m in _NAME_TOKEN.finditer(line):
            word = m.group(0)
            if not word[0].isupper():
                continue
            origin = (offset + m.start()) in origin_starts
            if not origin and (
                m.start() in starts
                or title_case
                or m.start() in in_runs
                or (offset + m.start()) in in_labels
                or word.isupper()
                or any(c.isdigit() for c in word)
                or (len(word) > 5 and word.lower().endswith(_COMMON_SUFFIXES))
            ):
                continue
            parts = [p for p in re.split(r"[-.&]+", word) if p]
            if all(
                _word_forms(p) & (known | _COMMON_CAPITALISED | _KIND_VOCABULARY | _MATERIAL_WORDS)
                for p in parts
            ):
                continue
            if len(word) < 2 and not origin:
                continue
            if origin:
                if word.isupper() and len(word) > 3:
                    continue  # "built in HOLD function": a feature, not a place
                # the whole place name: "United States", "New South Wales"
                run = re.match(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*", line[m.start() :])
                word = run.group(0).rstrip(".") if run else word
            key = word.lower()
            if key not in seen:
                seen.add(key)
                found.append((re.sub(r"['’]s$", "", word), origin))
    return found


def _known_words(facts: dict, voice: dict | None) -> set[str]:
    texts = [f"{label} {value}" for label, value in fact_items(facts)]
    if voice:
        for key in ("prefer_phrases", "audience", "tone"):
            item = voice.get(key)
            if item:
                texts.append(item if isinstance(item, str) else " ".join(map(str, item)))
    words: set[str] = set()
    for text in texts:
        for token in _NAME_TOKEN.findall(text):
            for part in [token, *re.split(r"[-.&'’]+", token)]:
                if part:
                    words |= _word_forms(part)
    return words


def check_names(value: str | list[str], facts: dict, voice: dict | None = None) -> list[Flag]:
    """Names, brands and places that the product's facts do not mention.

    A capitalised word inside a sentence (not its first word, not in a title-case
    line) that appears nowhere in the facts (title, brand, category, attributes,
    existing copy) nor in the brand voice's preferred phrases or audience is a
    name the model may have made up ("the city of Kragnaby"): soft, since real
    copy names compatible parts and standards the facts may lack. A name right
    after an origin cue ("crafted in", "designed in", "the city of") is a claim of
    origin: hard. Skipped for languages that capitalise every noun (German).
    """
    language = language_code((voice or {}).get("language"))
    if language in _NOUN_CAPITALISING:
        return []
    known = _known_words(facts, voice)
    flags: list[Flag] = []
    names = _unknown_names(_joined(value), known)
    origins = [n for n, origin in names if origin]
    others = [n for n, origin in names if not origin]
    if origins:
        listed = ", ".join(repr(n) for n in origins[:5])
        flags.append(
            Flag(
                "unsupported_origin",
                HARD,
                f"The text says the product or its maker comes from {listed}, but the product's "
                "facts do not say where it is made.",
                {"names": origins},
            )
        )
    if others:
        listed = ", ".join(repr(n) for n in others[:5])
        flags.append(
            Flag(
                "unverified_name",
                SOFT,
                f"The text names {listed}, which the product's facts do not mention; the model "
                "may have made it up. Check it is true before publishing.",
                {"names": others},
            )
        )
    return flags


# --------------------------------------------------------------------------- data labels and prompt echo

# Labels a model copies from the fenced facts ("Brand: Clayhouse") instead of writing copy.
_GENERIC_LABELS = set(
    """
    title product name brand category categories price material materials size colour color
    capacity type item fabric weight dimensions dimension sku model pack description features
    feature tags tag finish style hob origin width height length depth volume power
    """.split()
)
_LABEL_LINE = re.compile(
    r"^\s*(?:[-*•]\s*)?(?P<label>[A-Za-z][A-Za-z &/]{0,30}?)\s*:\s*(?P<rest>.*)$"
)


def _is_data_label(line: str, labels: set[str]) -> bool:
    m = _LABEL_LINE.match(line)
    if not m:
        return False
    label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", m.group("label").strip()).lower()
    words = label.split()
    rest = m.group("rest").strip().rstrip(".").lower()
    if not words or len(words) > 4 or len(rest) > 60:
        return False
    if label in labels:
        return True
    core = [w for w in words if w not in ("range", "product", "current", "item")]
    return all(w in _GENERIC_LABELS for w in core)


def check_labels(kind: str, value: str | list[str], facts: dict) -> list[Flag]:
    """Texts, list items or lines that are a fact label ("Brand: Clayhouse"), not copy.

    Hard when the copy is mostly labels: a one-line kind that is a label, a list of
    headlines or ad descriptions with half or more labels or too few real items left.
    Soft for label lines in a description or bullet list (spec lines such as
    "Capacity: 350 ml" are normal there) and for a few label items in a long list.
    """
    spec = get_spec(kind)
    items = fact_items(facts)
    labels = {label.lower() for label, _ in items} | _GENERIC_LABELS
    if spec.is_list:
        lines = [i for i in _items(value) if i.strip()]
    else:
        lines = [ln for ln in _joined(value).split("\n") if ln.strip()]
    found = [ln.strip() for ln in lines if _is_data_label(ln, labels)]
    if not found:
        return []
    real = len(lines) - len(found)
    if spec.name in ("description", "bullets"):
        hard = False
    elif spec.is_list:
        hard = real < spec.min_items or len(found) * 2 >= len(lines)
    else:
        hard = True
    where = (
        f"{len(found)} of the {len(lines)} {spec.label.lower()}"
        if spec.is_list
        else ("The text" if len(lines) == 1 else f"{len(found)} of its {len(lines)} lines")
    )
    examples = ", ".join(repr(_quote(f)) for f in found[:3])
    return [
        Flag(
            "data_label",
            HARD if hard else SOFT,
            f"{where} {'reads' if where == 'The text' else 'read'} like a data label, not copy "
            f"({examples}).",
            {"items": found[:10], "count": len(found)},
        )
    ]


_ECHO_RE = re.compile(
    r"<{2,}\s*/?\s*[A-Za-z]|[A-Za-z:]\s*>{2,}|<\|[^|<>]{0,40}\|>|\[/?INST\]"
    r"|<\s*/?\s*(?:END\s+)?(?:PRODUCT|BRAND VOICE|SHOPPER SEGMENT|EXAMPLE COPY)\b"
    r"|(?-i:\b(?:END )?(?:PRODUCT|BRAND VOICE|SHOPPER SEGMENT|EXAMPLE COPY)\s*>)",
    re.IGNORECASE,
)


def check_prompt_echo(value: str | list[str]) -> list[Flag]:
    """The model repeated the prompt's fence markers (``<<<PRODUCT>>>``) or chat tokens (hard)."""
    text = _joined(value)
    m = _ECHO_RE.search(text)
    if not m:
        return []
    line = next((ln for ln in text.split("\n") if m.group(0) in ln), m.group(0))
    return [
        Flag(
            "prompt_echo",
            HARD,
            f"The text repeats the instructions' markers ({_quote(line)!r}) instead of being copy.",
            {"found": m.group(0)},
        )
    ]


# --------------------------------------------------------------------------- meta-talk

# The model talking about its task instead of writing copy: "Here's the edited version of your
# product description", "Sure!", "As an AI", "using only these facts".
_META_TALK = re.compile(
    r"\b(?:here(?:'s| is| are)\s+(?:the|a|an|your|my|some)\b[^.\n]{0,60}?"
    r"\b(?:version|description|copy|text|title|headlines?|bullets?|rewrite|draft|options?)\b"
    r"|(?:^|[.!?]\s+)(?:sure|certainly|of course|absolutely)\s*(?:!|\.|,\s*(?:here|i|let)\b)"
    r"|\bas an ai\b|\b(?:ai|language) model\b"
    r"|\busing (?:only )?(?:these|the (?:given|provided)) facts\b"
    r"|\bbased on the (?:given|provided|above) (?:facts|information|details)\b"
    r"|\b(?:the )?(?:given|provided) facts\b"
    r"|\bi hope (?:this|that) helps\b|\blet me know\b|\bfeel free to (?:ask|adjust|edit)\b"
    r"|\bi (?:can(?:no|')t|cannot|am unable to|'m unable to)\b"
    r"|\b(?:the )?(?:product|brand) (?:facts|voice) (?:say|says|state|given)\b"
    r"|\bproduct description:|\bseo title:|\bmeta description:)",
    re.IGNORECASE | re.MULTILINE,
)


def check_meta_talk(value: str | list[str]) -> list[Flag]:
    """The model speaking about the task or to the merchant instead of writing copy (hard)."""
    text = _joined(value)
    m = _META_TALK.search(text)
    if not m:
        return []
    found = m.group(0).strip(" .!,")
    return [
        Flag(
            "meta_talk",
            HARD,
            f"The text talks about the task instead of being copy ({_quote(found)!r}).",
            {"found": found[:80]},
        )
    ]


# --------------------------------------------------------------------------- brand voice


def check_banned(value: str | list[str], voice: dict | None) -> list[Flag]:
    """Words and claims the brand voice says to avoid (hard)."""
    if not voice:
        return []
    text_norm = _norm(_joined(value))
    flags: list[Flag] = []
    for key, what in (("avoid_words", "word"), ("avoid_claims", "claim")):
        terms = voice.get(key) or []
        if isinstance(terms, str):
            terms = [t for t in re.split(r"[,\n]", terms)]
        for term in terms:
            term = str(term).strip()
            if term and _contains_phrase(text_norm, term):
                flags.append(
                    Flag(
                        "banned_word",
                        HARD,
                        f"The text uses {term!r}, a {what} your brand voice says to avoid.",
                        {"term": term},
                    )
                )
    return flags


# --------------------------------------------------------------------------- markup

_MARKUP_CHECKS = [
    (
        re.compile(r"<\s*script|javascript\s*:|\bon\w+\s*=\s*['\"]", re.IGNORECASE),
        "script",
        "a script",
    ),
    (re.compile(r"<\s*/?\s*[a-z][a-z0-9]*(?:\s[^<>]*)?/?\s*>", re.IGNORECASE), "html", "HTML tags"),
    (re.compile(r"&(?:[a-z]+|#\d+);", re.IGNORECASE), "html", "HTML entities"),
    (
        re.compile(
            r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|net|org|io|shop|store|co\.uk|de)\b",
            re.IGNORECASE,
        ),
        "link",
        "a link",
    ),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"), "link", "an e-mail address"),
    (re.compile(r"\[[^\]]+\]\([^)]+\)"), "link", "a Markdown link"),
]


def check_markup(value: str | list[str]) -> list[Flag]:
    """HTML, scripts, links and e-mail addresses (hard): copy is plain text."""
    text = _joined(value)
    flags: list[Flag] = []
    seen: set[str] = set()
    for regex, code, what in _MARKUP_CHECKS:
        m = regex.search(text)
        if m and code not in seen:
            seen.add(code)
            flags.append(
                Flag(
                    f"markup_{code}",
                    HARD,
                    f"The text contains {what} ({_quote(m.group(0))!r}); copy must be plain text.",
                    {"found": m.group(0)[:80]},
                )
            )
    if re.search(r"\*\*|__|^#{1,6}\s", text, re.MULTILINE):
        flags.append(
            Flag(
                "markup_formatting", SOFT, "The text contains Markdown formatting marks (** or #)."
            )
        )
    return flags


# --------------------------------------------------------------------------- language

# Short function-word lists; enough to tell these languages apart in a
# paragraph (the classic stop-word profile method, e.g. Cavnar & Trenkle 1994,
# "N-Gram-Based Text Categorization", reduced to common words).
_STOPWORDS = {
    "en": "the and of to a in is for with on that this it your you are as be by from or an its our at",
    "de": "der die das und ist mit für den dem des ein eine einer nicht auf sie zu im auch von sich wir ihre",
    "fr": "le la les et est pour avec des du un une dans sur pas vous qui que au aux ce cette votre nous",
    "es": "el la los las y es para con del un una en por que se su sus al lo como más este esta nuestro",
    "it": "il lo la gli le e è per con del della un una di che non sono si al nel questo questa nostro",
    "nl": "de het een en is van voor met op dat die niet zijn je jouw ons onze te bij ook naar",
    "pt": "o a os as e é para com do da um uma em que não no na por seu sua mais este esta nosso",
}
_STOPSETS = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_LANG_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
}
_NAME_TO_CODE = {name.lower(): code for code, name in _LANG_NAMES.items()} | {
    "deutsch": "de",
    "français": "fr",
    "francais": "fr",
    "español": "es",
    "espanol": "es",
    "italiano": "it",
    "nederlands": "nl",
    "português": "pt",
}


def language_code(language: str | None) -> str:
    """``"en-GB"``, ``"English"`` -> ``"en"``; unknown or empty -> ``"en"``."""
    if not language:
        return "en"
    key = language.strip().lower()
    if key in _NAME_TO_CODE:
        return _NAME_TO_CODE[key]
    return key.split("-")[0].split("_")[0][:2] or "en"


def detect_language(text: str) -> tuple[str | None, dict[str, int]]:
    """Best-guess language code by stop-word hits, or None when too little text."""
    words = _words(text)
    scores = {lang: sum(1 for w in words if w in stops) for lang, stops in _STOPSETS.items()}
    if len(words) < 8:
        return None, scores
    best = max(scores, key=lambda k: scores[k])
    return (best if scores[best] >= 2 else None), scores


def check_language(value: str | list[str], language: str | None) -> list[Flag]:
    """Text in another language or script than the brand voice asks for (hard)."""
    expected = language_code(language)
    text = _joined(value)
    letters = [c for c in text if c.isalpha()]
    if expected in _STOPSETS and len(letters) >= 10:
        non_latin = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
        if non_latin / len(letters) > 0.2:
            return [
                Flag(
                    "wrong_language",
                    HARD,
                    f"Much of the text is not in the Latin alphabet; it should be in {_LANG_NAMES[expected]}.",
                )
            ]
    if expected not in _STOPSETS:
        return []
    best, scores = detect_language(text)
    if best and best != expected and scores[expected] * 2 < scores[best]:
        return [
            Flag(
                "wrong_language",
                HARD,
                f"The text looks like {_LANG_NAMES[best]}; it should be in {_LANG_NAMES[expected]}.",
                {"detected": best, "expected": expected},
            )
        ]
    return []


# --------------------------------------------------------------------------- thin product / coverage


def check_thin(facts: dict) -> list[Flag]:
    """Soft flag when the product has almost nothing but a title."""
    if is_thin(facts):
        return [
            Flag(
                "thin_product",
                SOFT,
                "This product has almost no facts besides its title, so the copy is generic. "
                "Add attributes (material, size, features) for better copy.",
            )
        ]
    return []


def _mentions(
    text_norm: str, text_words: set[str], text_numbers: list[NumberMention], term: str
) -> bool:
    if _contains_phrase(text_norm, term):
        return True
    numbers = extract_numbers(term)
    if numbers and all(any(_same_value(n.value, t.value) for t in text_numbers) for n in numbers):
        return True
    tokens = [w for w in _words(term) if len(w) > 2 and not w.isdigit()]
    if not tokens:
        return False
    hits = sum(1 for w in tokens if w in text_words or (w.endswith("s") and w[:-1] in text_words))
    return hits / len(tokens) >= (1.0 if len(tokens) <= 2 else 0.6)


def coverage(value: str | list[str], facts: dict) -> tuple[float, list[str], list[str]]:
    """Share of the product's key facts the text mentions: ``(score, covered, missing)``.

    Key facts are those of :func:`contentgen.facts.key_facts`. The score is 0.0
    when the product has no key facts (it is thin and flagged as such).
    """
    text = _joined(value)
    text_norm = _norm(text)
    text_words = set(_words(text))
    text_numbers = extract_numbers(text)
    covered: list[str] = []
    missing: list[str] = []
    for label, term in key_facts(facts):
        (covered if _mentions(text_norm, text_words, text_numbers, term) else missing).append(label)
    total = len(covered) + len(missing)
    return (round(len(covered) / total, 3) if total else 0.0), covered, missing


# --------------------------------------------------------------------------- all together


def check_copy(
    kind: str,
    value: str | list[str],
    facts: dict,
    voice: dict | None = None,
    *,
    truncated: bool = False,
) -> GuardResult:
    """Run every guard on one draft value (``str``, or ``list[str]`` for list kinds).

    ``truncated`` says the generator stopped at its token limit. Review calls
    this again on edited text, so an edit is held to the same rules.
    """
    spec: KindSpec = get_spec(kind)
    flags: list[Flag] = []
    empty = check_empty_or_truncated(spec.name, value, truncated=truncated)
    flags += empty
    if not any(f.code == "empty" for f in empty):
        flags += check_length(spec.name, value)
        flags += check_repetition(spec.name, value)
        flags += check_markup(value)
        flags += check_prompt_echo(value)
        flags += check_meta_talk(value)
        flags += check_labels(spec.name, value, facts)
        flags += check_facts(value, facts)
        flags += check_names(value, facts, voice)
        flags += check_banned(value, voice)
        flags += check_language(value, (voice or {}).get("language"))
    flags += check_thin(facts)
    score, covered, missing = coverage(value, facts)
    flags += check_key_facts(spec.name, covered, missing)
    return GuardResult(flags=flags, coverage=score, covered=covered, missing=missing)


MIN_KEY_FACT_SHARE = 0.5


def check_key_facts(kind: str, covered: list[str], missing: list[str]) -> list[Flag]:
    """A description that mentions under half of the product's key facts (soft)."""
    total = len(covered) + len(missing)
    if kind != "description" or total < 2 or len(covered) >= MIN_KEY_FACT_SHARE * total:
        return []
    listed = ", ".join(missing[:6])
    return [
        Flag(
            "misses_key_facts",
            SOFT,
            f"The description mentions {len(covered)} of the product's {total} key facts; it "
            f"leaves out {listed}.",
            {"covered": covered, "missing": missing},
        )
    ]
