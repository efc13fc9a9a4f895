"""Grounded decoding: what the model may write next, given one product's facts (no Django import).

The guards (:mod:`contentgen.guards`) judge a finished text; this module keeps the model from
writing the worst of what they catch in the first place. :class:`Grounding` is built per product
from its facts and says which *continuations* of a text are allowed:

- **numbers**: a number may only be written if its value is in the facts (values compared as
  the guards compare them, so ``1-9/16`` is one number). While a number is being written, its
  digits so far must start some number of the facts, and it may only end once it is one of them;
  a number glued to letters ("TRA708T", "M3") is a code, as for the guards. A unit after it
  must be of the kind the facts give it with ("40 mm" in the facts: not "40 kg");
- **claim words**: a material, certification or regulated-claim term from the guards'
  vocabularies ("steel", "waterproof", "organic", "warranty", "CE") that the facts lack;
- **origins**: a capitalised name right after an origin cue ("made in", "crafted in the") when
  the facts give no origin.

:class:`Fit` holds a kind's form: the most characters a line may have (SEO titles and ad
headlines stay within their limit by construction, never cut afterwards), single-line kinds end
instead of starting a second line, list kinds stop after their last item, a line never ends on
a dangling "with" or "and", and a description stops at the first sentence end once it has
about 110 words (the kind's range is 60 to 150), so it ends cleanly within its budget.

:class:`GroundedDecoding` is a ``transformers`` logits processor over a batch, one (grounding,
fit) per row. At each step it checks the row's most likely candidate tokens (``window``, 64 by
default, more when none of those is allowed) against the text so far and keeps only the allowed
ones; the sampler then draws among them as usual. End-of-turn stays allowed unless the fit says
the text is too short to end, so forbidding a number never forces a run-on.

**Fact boost.** Among the allowed candidates, a token that starts or continues a word of a key
fact the text has not mentioned yet (:func:`contentgen.facts.key_facts`: the brand, the
category, attribute values) gets ``Grounding.boost`` added to its logit: a soft nudge toward
covering the facts, in the spirit of lexically constrained decoding (Hokamp and Liu, 2017,
arXiv:1704.07138) but without forcing any word. Only tokens already among the model's
likeliest candidates are nudged, so the text stays the model's own.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import torch

from contentgen.facts import key_facts
from contentgen.guards import (
    AMBIGUOUS_UNITS,
    CLAIM_TERMS,
    MATERIAL_GROUPS,
    ORIGIN_CUE_WORDS,
    UNIT_DIMENSION,
    extract_numbers,
    facts_corpus,
    phrase_in,
    same_value,
)
from contentgen.specs import get_spec

__all__ = ["Grounding", "Fit", "GroundedDecoding", "token_strings"]

# A number as the model writes it: digits with inner separators ("1-9/16", "1,200", "2.5").
_RUN = re.compile(r"\d+(?:[.,/\-]\d+)*")
_OPEN_RUN = re.compile(r"\d[\d.,/\-]*$")
# a number, then its unit word as far as it is written ("40 c", "40 cm", "1-9/16-inch")
_NUMBER_UNIT = re.compile(r"(?<![\w.])(?P<num>\d+(?:[.,/\-]\d+)*)\s?-?\s?(?P<unit>[A-Za-z]+)\b")
_SEPARATORS = ".,/-"
# At most one number per this many words once a text has two (spec sheets stay spec sheets).
WORDS_PER_NUMBER = 8
_WORD = re.compile(r"[A-Za-z]+")
DANGLING_WORDS = frozenset({
    "a", "an", "and", "&", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the",
    "to", "with", "your", "our", "its", "their", "+",
})  # fmt: skip
_SENTENCE_END = (".", "!", "?")
_CASED_TERMS = {"RoHS"}
# Pieces that are never copy: markup and the prompt's fences ("<<<PRODUCT>>>", "<b>"),
# Markdown emphasis, links and bracketed placeholders ("[Brand Name]").
_NOT_COPY = re.compile(r"[<>\[\]{}]|\*\*|https?:|www\.|\|>|<\|")
# Logit added to a candidate that advances an unmentioned key fact (see "Fact boost" above;
# measured in docs/copy-quality.md).
FACT_BOOST = 3.0
# Words of a key fact too common to count as covering it.
_FACT_STOP = frozenset({"and", "the", "with", "for", "from", "of", "in", "on", "to", "yes"})


@dataclass
class Grounding:
    """What one product's facts allow (see the module docstring)."""

    values: list[float] = field(default_factory=list)
    surfaces: set[str] = field(default_factory=set)
    # value -> the kinds of unit the facts give it with ("length", "weight"...)
    dimensions: dict[float, set[str]] = field(default_factory=dict)
    # last word -> the words before it, for each forbidden term ("stainless steel")
    forbidden: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    forbidden_upper: set[str] = field(default_factory=set)
    origin_known: bool = False
    # lowercase words of the key facts (brand, category, attribute values) to nudge toward
    fact_words: frozenset[str] = frozenset()
    boost: float = 0.0
    # numerals other than ASCII digits the facts use ("¼", "²"); no others may be written
    numerals: frozenset[str] = frozenset()

    @classmethod
    def from_facts(cls, facts: dict, *, boost: float = FACT_BOOST) -> Grounding:
        corpus = facts_corpus(facts)
        mentions = extract_numbers(corpus)
        values = [n.value for n in mentions]
        dimensions: dict[float, set[str]] = {}
        for n in mentions:
            if n.dimension and n.dimension != "money":
                dimensions.setdefault(n.value, set()).add(n.dimension)
        surfaces = set(_RUN.findall(corpus))
        for v in values:
            if float(v).is_integer():
                surfaces.add(str(int(v)))
                if v >= 1000:
                    surfaces.add(f"{int(v):,}")
            else:
                surfaces.add(f"{v:g}")
        forbidden: dict[str, list[tuple[str, ...]]] = {}
        upper: set[str] = set()
        groups = [*MATERIAL_GROUPS, *CLAIM_TERMS]
        for group in groups:
            if any(phrase_in(corpus, term) for term in group):
                continue
            for term in group:
                if term == term.upper() or term in _CASED_TERMS:
                    upper.add(term)
                    continue
                words = tuple(_WORD.findall(term.lower()))
                if words:
                    forbidden.setdefault(words[-1], []).append(words[:-1])
        origin = bool(re.search(r"\b(?:made in|origin|country)\b", corpus, re.IGNORECASE))
        fact_words = frozenset(
            word
            for _, term in key_facts(facts)
            for word in _WORD.findall(term.lower())
            if len(word) >= 3 and word not in _FACT_STOP
        )
        numerals = frozenset(c for c in corpus if c.isnumeric() and not c.isascii())
        return cls(
            values, surfaces, dimensions, forbidden, upper, origin, fact_words, boost, numerals
        )

    # ------------------------------------------------------------------ fact boost

    def unsaid_facts(self, before: str) -> frozenset[str]:
        """The key-fact words ``before`` has not written yet."""
        if not self.fact_words:
            return frozenset()
        return self.fact_words - {w.lower() for w in _WORD.findall(before)}

    def advances_fact(self, before: str, piece: str, unsaid: frozenset[str] | None = None) -> bool:
        """Whether ``piece`` starts or continues a word of a key fact ``before`` lacks
        (``unsaid``: :meth:`unsaid_facts` of ``before``, when the caller has it)."""
        unsaid = self.unsaid_facts(before) if unsaid is None else unsaid
        if not unsaid:
            return False
        lead = _WORD.match(piece.lstrip(" "))
        if lead is None:
            return False
        if piece[:1] == " " or not before[-1:].isalpha():
            stem = lead.group(0).lower()
            if len(stem) < 2:
                return False
        else:
            partial = re.search(r"[A-Za-z]+$", before)
            stem = ((partial.group(0) if partial else "") + lead.group(0)).lower()
        complete = lead.end() < len(piece.lstrip(" "))
        if complete:
            return stem in unsaid
        return any(word.startswith(stem) for word in unsaid)

    # ------------------------------------------------------------------ numbers

    def number_closed_ok(self, run: str) -> bool:
        found = extract_numbers(run)
        return bool(found) and all(any(same_value(n.value, v) for v in self.values) for n in found)

    def number_open_ok(self, run: str) -> bool:
        if any(s.startswith(run) for s in self.surfaces):
            return True
        # "5." or "5-": a whole number followed by a separator that may end it
        return run[-1] in _SEPARATORS and self.number_closed_ok(run.rstrip(_SEPARATORS))

    def numbers_ok(self, before: str, piece: str) -> bool:
        """Whether ``before + piece`` keeps every number that ``piece`` writes or ends grounded,
        and starts no number when the text already has one per :data:`WORDS_PER_NUMBER` words
        (facts that are mostly numbers must not become a wall of numbers)."""
        if any(c.isnumeric() and not c.isascii() and c not in self.numerals for c in piece):
            return False  # "¼", "²", "Ⅲ": numbers the digit rules below would not see
        text = before[-32:] + piece
        start = len(text) - len(piece)
        if any(c.isdigit() for c in piece) and not _OPEN_RUN.search(before):
            written = len(_RUN.findall(before))
            if written >= 2 and written * WORDS_PER_NUMBER > len(before.split()):
                return False
        for m in _RUN.finditer(text):
            gap = text[m.end() : start]
            if m.end() < start and not (gap and all(c in _SEPARATORS for c in gap)):
                continue  # a number that ended before this piece was judged then
            if m.start() > 0 and (text[m.start() - 1].isalpha() or text[m.start() - 1] == "_"):
                continue  # part of a code such as "TRA708T"
            rest = text[m.end() :]
            if all(c in _SEPARATORS for c in rest):  # still being written
                if not self.number_open_ok(text[m.start() :]):
                    return False
            elif not self.number_closed_ok(m.group(0)):
                return False
        return True

    def units_ok(self, before: str, piece: str) -> bool:
        """A unit after a number of the facts must be of the kind the facts give it with
        ("40 mm" in the facts: "40 cm" is refused, "40 inches" too)."""
        if not self.dimensions:
            return True
        text = before[-40:] + piece
        start = len(text) - len(piece)
        for m in _NUMBER_UNIT.finditer(text):
            if m.end("unit") < start:
                continue  # judged when it was written
            unit = m.group("unit").lower()
            dimension = UNIT_DIMENSION.get(unit)
            spaced = m.start("unit") > m.end("num")
            if dimension is None or (unit in AMBIGUOUS_UNITS and spaced):
                continue
            if len(unit) < 2 and m.end("unit") == len(text):
                continue  # "40 g" may still become "40 great": judged when the word ends
            for n in extract_numbers(m.group("num")):
                known = next(
                    (d for v, d in self.dimensions.items() if same_value(v, n.value)), None
                )
                if known and dimension not in known:
                    return False
        return True

    # ------------------------------------------------------------------ words

    def words_ok(self, before: str, piece: str) -> bool:
        """Whether ``piece`` writes (or completes) a claim word the facts lack."""
        if not self.forbidden and not self.forbidden_upper:
            return True
        text = before[-60:] + piece
        start = len(text) - len(piece)
        for m in _WORD.finditer(text):
            if m.end() <= start:
                continue
            word = m.group(0)
            if word in self.forbidden_upper:
                return False
            heads = self.forbidden.get(word.lower())
            if not heads:
                continue
            previous = [w.lower() for w in _WORD.findall(text[: m.start()])]
            for head in heads:
                if not head or tuple(previous[-len(head) :]) == head:
                    return False
        return True

    def origin_ok(self, before: str, piece: str) -> bool:
        if self.origin_known:
            return True
        stripped = piece.lstrip()
        if not stripped[:1].isupper():
            return True
        if piece[:1] != " " and not before.endswith(" "):
            return True
        words = [w.lower() for w in _WORD.findall(before[-40:])]
        return not (
            (len(words) >= 2 and words[-1] == "in" and words[-2] in ORIGIN_CUE_WORDS)
            or (len(words) >= 3 and words[-1] == "the" and words[-2] == "in"
                and words[-3] in ORIGIN_CUE_WORDS)
            or (len(words) >= 2 and words[-1] == "of" and words[-2] in ("city", "region", "town"))
        )  # fmt: skip

    def allows(self, before: str, piece: str) -> bool:
        return (
            self.numbers_ok(before, piece)
            and self.units_ok(before, piece)
            and self.words_ok(before, piece)
            and self.origin_ok(before, piece)
        )


@dataclass
class Fit:
    """A kind's form at decoding time (see the module docstring)."""

    max_line_chars: int | None = None
    single_line: bool = False
    max_lines: int | None = None
    min_chars: int = 0
    stop_words: int | None = None
    max_words: int | None = None

    @classmethod
    def for_kind(cls, kind: str) -> Fit:
        spec = get_spec(kind)
        if spec.name == "description":
            return cls(
                min_chars=spec.min_chars,
                stop_words=int(spec.max_words * 0.75) if spec.max_words else None,
                max_words=spec.max_words,
            )
        if spec.is_list:
            return cls(max_line_chars=spec.max_chars, max_lines=spec.max_items)
        return cls(max_line_chars=spec.max_chars, single_line=True, min_chars=spec.min_chars)

    def must_end(self, text: str) -> bool:
        """The text is complete: only end-of-turn may follow."""
        if self.stop_words and text.rstrip().endswith(_SENTENCE_END):
            return len(text.split()) >= self.stop_words
        if self.max_lines:
            lines = [ln for ln in text.split("\n") if ln.strip()]
            return len(lines) >= self.max_lines and text.endswith("\n")
        return False

    def may_end(self, text: str) -> bool:
        """End-of-turn (or a line break) may follow ``text``."""
        body = text.strip()
        if len(body) < self.min_chars:
            return False
        line = body.split("\n")[-1].strip()
        last = line.split()[-1].lower() if line.split() else ""
        return last not in DANGLING_WORDS

    def allows(self, text: str, piece: str) -> bool:
        if not piece or _NOT_COPY.search(piece):
            return False
        if "\n" in piece:
            if self.single_line and text.strip():
                return False
            if not self.may_end(text + piece.split("\n")[0]):
                return False
        if self.max_line_chars:
            lines = (text + piece).split("\n")
            # only the lines this piece touches can grow; spaces count, or they could pile up
            touched = lines[-(piece.count("\n") + 1) :]
            if any(len(ln.lstrip()) > self.max_line_chars for ln in touched):
                return False
        if self.max_words and piece[:1].isspace() and piece.strip():
            if len(text.split()) >= self.max_words:
                return False
        return True


_STRINGS: dict[int, list[str]] = {}
_STRINGS_LOCK = threading.Lock()


def token_strings(tokenizer) -> list[str]:
    """Each vocabulary id's text as it decodes on its own (computed once per tokenizer)."""
    key = id(tokenizer)
    with _STRINGS_LOCK:
        strings = _STRINGS.get(key)
        if strings is None:
            n = len(tokenizer)
            strings = tokenizer.batch_decode([[i] for i in range(n)], skip_special_tokens=False)
            _STRINGS[key] = strings
    return strings


class GroundedDecoding:
    """Logits processor: per row, keep only the candidate tokens its grounding and fit allow."""

    def __init__(
        self,
        tokenizer,
        rows: list[tuple[Grounding | None, Fit | None]],
        *,
        prompt_len: int,
        eos_ids: list[int],
        window: int = 64,
    ):
        self.strings = token_strings(tokenizer)
        self.special = set(getattr(tokenizer, "all_special_ids", []) or [])
        self.rows = rows
        self.prompt_len = prompt_len
        self.eos_ids = list(eos_ids)
        self.window = window
        self.texts = ["" for _ in rows]
        self.seen = [0 for _ in rows]
        self.done = [False for _ in rows]
        # rows that ended because nothing else was allowed (a line at its limit, say)
        self.forced = [False for _ in rows]
        self.masked = 0  # candidate tokens refused, for the benchmark

    def _advance(self, row: int, ids: list[int]) -> str:
        new = ids[self.prompt_len + self.seen[row] :]
        for token in new:
            if token in self.eos_ids:
                self.done[row] = True
                break
            if token not in self.special:
                self.texts[row] += self.strings[token]
        self.seen[row] += len(new)
        return self.texts[row]

    def _ok(self, row: int, text: str, token: int) -> bool:
        grounding, fit = self.rows[row]
        if token in self.eos_ids:
            return fit is None or fit.may_end(text)
        if token in self.special or token >= len(self.strings):
            return False
        piece = self.strings[token]
        if fit is not None and not fit.allows(text, piece):
            return False
        return grounding is None or grounding.allows(text, piece)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        keep = torch.zeros_like(scores, dtype=torch.bool)
        bias = None
        rows_ids = input_ids.tolist()
        k = min(self.window, scores.shape[1])
        top = scores.topk(k, dim=-1).indices.tolist()
        for row, ids in enumerate(rows_ids):
            if row >= len(self.rows) or self.rows[row] == (None, None):
                keep[row] = True
                continue
            text = self._advance(row, ids)
            if self.done[row]:
                keep[row] = True
                continue
            fit = self.rows[row][1]
            if fit is not None and fit.must_end(text):
                keep[row, self.eos_ids] = True
                continue
            self.forced[row] = False
            allowed = [t for t in top[row] if self._ok(row, text, t)]
            if not allowed:
                wider = scores[row].topk(min(scores.shape[1], self.window * 8)).indices.tolist()
                allowed = [t for t in wider[k:] if self._ok(row, text, t)]
            self.masked += k - len(allowed)
            if not allowed:  # nothing fits: end rather than write what is not allowed
                allowed = self.eos_ids
                self.forced[row] = True
            keep[row, allowed] = True
            grounding = self.rows[row][0]
            unsaid = grounding.unsaid_facts(text) if grounding and grounding.boost else None
            if unsaid:
                nudged = [
                    t
                    for t in allowed
                    if t < len(self.strings)
                    and grounding.advances_fact(text, self.strings[t], unsaid)
                ]
                if nudged:
                    bias = bias if bias is not None else torch.zeros_like(scores)
                    bias[row, nudged] = grounding.boost
        if bias is not None:
            scores = scores + bias
        return scores.masked_fill(~keep, float("-inf"))
