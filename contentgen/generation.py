"""Generation: prompts -> batched model calls -> parsed values -> guards -> variants.

No Django import: the ``generate_copy`` command, the Celery task, the
benchmark and fine-tuning's evaluation all call :func:`generate`.

Best of N, reranked. For each request (a product's facts and a kind) it samples
``candidates`` answers (at least the kind's number of variants), each with its own seed
(:func:`derive_seed`: the same product, kind, candidate, round and base seed always give the
same seed, so a re-run writes the same drafts). Decoding is grounded in the product's facts
and fitted to the kind's form (:mod:`contentgen.grounding`). Answers are parsed
(:func:`contentgen.prompts.parse_answer`), list kinds are fitted to their limits (over-length
items left out, duplicates merged, at most ``max_items``), and every value goes through
:func:`contentgen.guards.check_copy`. When no candidate of a field passes the hard guards,
another round of candidates is sampled, up to ``max_attempts`` rounds. The kept variants are
the best candidates by, in order: no hard flag, fact coverage, fewest soft flags, and the
model's mean log-probability per token (:func:`rank_key`); each variant carries these rank
inputs (``Variant.rank``) so a reviewer can see why it was chosen.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from contentgen.facts import is_thin
from contentgen.grounding import DANGLING_WORDS, FACT_BOOST, Fit, Grounding
from contentgen.guards import HARD, SOFT, Flag, check_copy
from contentgen.prompts import DEFAULT_FACTS_BUDGET_CHARS, build_prompt, parse_answer, render_prompt
from contentgen.specs import get_spec

__all__ = [
    "CopyRequest",
    "Variant",
    "CopyResult",
    "GenerationStats",
    "derive_seed",
    "fit_value",
    "rank_key",
    "DEFAULT_CANDIDATES",
    "generate",
    "iter_generate",
]


# Candidates sampled per field on the CPU default (see docs/copy-quality.md for the
# measurements behind it); a setting (CONTENTGEN_CANDIDATES) for the services.
DEFAULT_CANDIDATES = 4


@dataclass
class CopyRequest:
    """What to write: ``key`` identifies the product (its SKU), ``facts`` as in
    :mod:`contentgen.facts`. ``examples``: approved texts of the same kind to show the model
    (few-shot, inside the prompt's fences), nearest first."""

    key: str
    facts: dict
    kind: str
    examples: list = field(default_factory=list)


@dataclass
class Variant:
    index: int
    text: str | list[str]
    passed: bool
    flags: list[dict]
    coverage: float
    seed: int
    attempts: int
    raw: str = ""
    mean_logprob: float = 0.0
    rank: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The CLI's JSON shape: ``text``, ``passed``, ``flags``, ``coverage`` (+ seed,
        attempts and the rank inputs)."""
        return {
            "text": self.text,
            "passed": self.passed,
            "flags": self.flags,
            "coverage": self.coverage,
            "seed": self.seed,
            "attempts": self.attempts,
            "rank": self.rank,
        }


@dataclass
class CopyResult:
    key: str
    kind: str
    variants: list[Variant]
    thin: bool
    warnings: list[str] = field(default_factory=list)
    prompt_messages: list[dict] = field(default_factory=list)


@dataclass
class GenerationStats:
    """Counters for the summary line and the benchmark."""

    prompts: int = 0
    new_tokens: int = 0
    model_seconds: float = 0.0
    regenerated: int = 0
    fields: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.model_seconds if self.model_seconds else 0.0


def derive_seed(base_seed: int, key: str, kind: str, variant: int, attempt: int) -> int:
    """A stable 31-bit seed for one sampled answer (same inputs, same seed, on any machine)."""
    digest = hashlib.sha256(f"{base_seed}|{key}|{kind}|{variant}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def fit_value(kind: str, value: str | list[str]) -> tuple[str | list[str], list[Flag]]:
    """Fit a parsed list value to the kind's limits; returns the value and soft notes on what was left out."""
    spec = get_spec(kind)
    if isinstance(value, str):
        return _fit_line(spec, value)
    if not spec.is_list:
        return value, []
    seen: set[str] = set()
    kept: list[str] = []
    too_long = 0
    for item in value:
        key = " ".join(item.lower().split())
        if key in seen:
            continue
        seen.add(key)
        if len(item) > spec.max_chars:
            too_long += 1
            continue
        kept.append(item)
    notes: list[Flag] = []
    if too_long:
        notes.append(
            Flag(
                "items_left_out",
                SOFT,
                f"{too_long} of the model's {spec.label.lower()} were over {spec.max_chars} characters and were left out.",
                {"count": too_long},
            )
        )
    if len(kept) > spec.max_items:
        kept = kept[: spec.max_items]
    return kept, notes


_CLAUSE_BREAKS = (" | ", " – ", " — ", " - ", ": ", "; ", ", ")
_MIN_FITTED_CHARS = 20


def _fit_line(spec, value: str) -> tuple[str, list[Flag]]:
    """A one-line kind (SEO title, meta description) over its limit is cut at the last clause
    break that fits ("Stoneware Mug, a Unique Product for ..." -> "Stoneware Mug"), never in the
    middle of a clause; if no break leaves a useful text, it stays over length for the guards."""
    if (
        spec.name not in ("seo_title", "seo_description")
        or "\n" in value
        or len(value) <= spec.max_chars
    ):
        return value, []
    head = value[: spec.max_chars + 1]
    cut = max((head.rfind(b) for b in _CLAUSE_BREAKS), default=-1)
    fitted = value[:cut].rstrip(" ,;:-–—|") if cut > 0 else ""
    if len(fitted) < _MIN_FITTED_CHARS:
        return value, []
    note = Flag(
        "shortened",
        SOFT,
        f"The model wrote {len(value)} characters; it was cut at a clause break to fit {spec.max_chars}.",
        {"original": value},
    )
    return fitted, [note]


def rank_key(variant: Variant) -> tuple:
    """Best first: no hard flag, then fact coverage, then fewest soft flags, then fluency (the
    model's mean log-probability per token)."""
    hard = sum(1 for f in variant.flags if f["severity"] == HARD)
    soft = sum(1 for f in variant.flags if f["severity"] != HARD)
    return (hard, -variant.coverage, soft, -variant.mean_logprob)


def _rank_inputs(variant: Variant, position: int, total: int) -> dict:
    hard, coverage, soft, fluency = rank_key(variant)
    words = [
        "no hard flag" if not hard else f"{hard} hard flag{'s' if hard != 1 else ''}",
        f"covers {-coverage:.0%} of the key facts",
        f"{soft} soft flag{'s' if soft != 1 else ''}",
        f"fluency {-fluency:.2f}",
    ]
    return {
        "position": position,
        "candidates": total,
        "hard_flags": hard,
        "coverage": -coverage,
        "soft_flags": soft,
        "mean_logprob": -fluency,
        "reason": f"Best {position} of {total} candidates: " + ", ".join(words) + ".",
    }


def shared_part(tokenizer, messages: list[dict], text: str) -> str | None:
    """The start of the rendered prompt ``text`` that other prompts of the kind share: the
    system turn (instructions, limits, voice), when the chat template renders it first."""
    if not getattr(tokenizer, "chat_template", None) or not messages:
        return None
    if messages[0].get("role") != "system":
        return None
    head = tokenizer.apply_chat_template(messages[:1], tokenize=False)
    return head if isinstance(head, str) and head and text.startswith(head) else None


FEW_SHOT = 2


def _category_path(category: object) -> list[str]:
    return [p.strip().lower() for p in str(category or "").split(">") if p.strip()]


def nearest_examples(examples: list, kind: str, facts: dict, limit: int = FEW_SHOT) -> list[str]:
    """Up to ``limit`` example texts of ``kind`` for a product, nearest by category first.

    ``examples`` are the brand voice's (``{"kind", "text", "category", "sku"}``; review adds
    every approved text that no hard guard flagged). Nearness is the number of leading
    category levels shared with the product ("Kitchen > Mugs" is nearer to "Kitchen > Mugs"
    than to "Kitchen > Pans"); ties go to the newest. The product's own text is never its
    own example.
    """
    path = _category_path(facts.get("category"))
    sku = str(facts.get("sku") or "")
    scored = []
    for order, example in enumerate(examples or []):
        if isinstance(example, dict):
            if example.get("kind") not in (None, "", kind):
                continue
            if sku and str(example.get("sku") or "") == sku:
                continue
            text = example.get("text")
            other = _category_path(example.get("category"))
        else:
            text, other = example, []
        if not text:
            continue
        shared = 0
        for a, b in zip(path, other, strict=False):
            if a != b:
                break
            shared += 1
        scored.append((shared, order, text))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    return [text for _, _, text in scored[:limit]]


def _request_voice(voice: dict | None, request: CopyRequest) -> dict | None:
    """The voice whose examples are the request's few-shot examples: those given, else the
    voice's nearest by category (:func:`nearest_examples`)."""
    if not voice and not request.examples:
        return voice
    base = dict(voice or {})
    chosen = list(request.examples) or nearest_examples(
        base.get("examples") or [], request.kind, request.facts
    )
    base["examples"] = [{"kind": request.kind, "text": text} for text in chosen[:FEW_SHOT]]
    return base


def _fit_prompt(
    backend, request: CopyRequest, voice, segment, max_new_tokens
) -> tuple[str, list[str], list[dict]]:
    budget = DEFAULT_FACTS_BUDGET_CHARS
    voice = _request_voice(voice, request)
    while True:
        prompt = build_prompt(
            request.facts, request.kind, voice, segment, facts_budget_chars=budget
        )
        text = render_prompt(backend.tokenizer, prompt.messages)
        if budget <= 200 or backend.count_tokens(text) + max_new_tokens <= backend.context_length:
            return text, prompt.warnings, prompt.messages
        budget //= 2


def iter_generate(
    backend,
    requests: Sequence[CopyRequest],
    *,
    voice: dict | None = None,
    segment: str | None = None,
    variants: int | None = None,
    candidates: int | None = None,
    grounded: bool = True,
    fact_boost: float = FACT_BOOST,
    seed: int = 0,
    batch_size: int = 16,
    max_attempts: int = 2,
    temperature: float = 0.7,
    top_p: float = 0.9,
    stats: GenerationStats | None = None,
    chunk_requests: int | None = None,
    max_new_tokens: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[CopyResult]:
    """Yield a :class:`CopyResult` per request, in order, as soon as its chunk is done.

    ``candidates`` answers are sampled per field (default :data:`DEFAULT_CANDIDATES`, at
    least ``variants``) and the best ``variants`` kept; ``grounded`` applies
    :mod:`contentgen.grounding` while decoding, nudging toward unmentioned key facts by
    ``fact_boost`` (0 turns the nudge off). Requests are processed in chunks of about
    one batch, so callers can save results, report progress per finished field and honour
    cancellation between chunks. ``max_new_tokens`` caps each kind's own token budget (tests
    and quick previews). ``should_stop`` goes to the backend, which asks it after every
    decoding step and raises ``GenerationStopped`` once it is true (results already yielded
    stay the caller's).
    """
    stats = stats if stats is not None else GenerationStats()
    n = max(1, candidates or DEFAULT_CANDIDATES)
    if chunk_requests is None:
        chunk_requests = max(1, batch_size // max(n, variants or 1))
    for start in range(0, len(requests), chunk_requests):
        chunk = list(requests[start : start + chunk_requests])
        yield from _generate_chunk(
            backend,
            chunk,
            voice=voice,
            segment=segment,
            variants=variants,
            candidates=n,
            grounded=grounded,
            fact_boost=fact_boost,
            seed=seed,
            batch_size=batch_size,
            max_attempts=max_attempts,
            temperature=temperature,
            top_p=top_p,
            stats=stats,
            max_new_tokens=max_new_tokens,
            should_stop=should_stop,
        )


def generate(backend, requests: Sequence[CopyRequest], **kwargs) -> list[CopyResult]:
    """All results at once (see :func:`iter_generate` for the options)."""
    return list(iter_generate(backend, requests, **kwargs))


def _generate_chunk(
    backend,
    requests: list[CopyRequest],
    *,
    voice,
    segment,
    variants,
    candidates,
    grounded,
    fact_boost,
    seed,
    batch_size,
    max_attempts,
    temperature,
    top_p,
    stats: GenerationStats,
    max_new_tokens: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[CopyResult]:
    specs = [get_spec(r.kind) for r in requests]
    prompts: list[str] = []
    shared: list[str | None] = []
    results: list[CopyResult] = []
    constraints: list[tuple[Grounding, Fit] | None] = []
    for request, spec in zip(requests, specs, strict=True):
        text, warnings, messages = _fit_prompt(
            backend, request, voice, segment, spec.max_new_tokens
        )
        prompts.append(text)
        shared.append(shared_part(backend.tokenizer, messages, text))
        constraints.append(
            (Grounding.from_facts(request.facts, boost=fact_boost), Fit.for_kind(spec.name))
            if grounded
            else None
        )
        results.append(
            CopyResult(
                key=request.key,
                kind=spec.name,
                variants=[],
                thin=is_thin(request.facts),
                warnings=warnings,
                prompt_messages=messages,
            )
        )
    keep = [variants if variants is not None else spec.variants for spec in specs]
    pool: list[list[Variant]] = [[] for _ in requests]
    rounds = [0 for _ in requests]
    pending = list(range(len(requests)))
    while pending:
        # one pass per round; group by kind (same token budget), then by prompt length (less padding)
        slots = [(i, c) for i in pending for c in range(max(candidates, keep[i]))]
        slots.sort(key=lambda s: (specs[s[0]].name, len(prompts[s[0]])))
        by_kind: dict[str, list[tuple[int, int]]] = {}
        for slot in slots:
            by_kind.setdefault(specs[slot[0]].name, []).append(slot)
        for kind, kind_slots in by_kind.items():
            spec = get_spec(kind)
            seeds = [derive_seed(seed, requests[i].key, kind, c, rounds[i]) for i, c in kind_slots]
            started = time.perf_counter()
            outputs = backend.generate(
                [prompts[i] for i, _ in kind_slots],
                seeds,
                max_new_tokens=min(spec.max_new_tokens, max_new_tokens or spec.max_new_tokens),
                temperature=temperature,
                top_p=top_p,
                batch_size=batch_size,
                prefixes=[shared[i] for i, _ in kind_slots],
                constraints=[constraints[i] for i, _ in kind_slots] if grounded else None,
                **({"should_stop": should_stop} if should_stop is not None else {}),
            )
            stats.model_seconds += time.perf_counter() - started
            stats.prompts += len(kind_slots)
            stats.new_tokens += sum(o.new_tokens for o in outputs)
            for (i, c), out in zip(kind_slots, outputs, strict=True):
                pool[i].append(_judge(requests[i], spec.name, out, voice, c, rounds[i]))
        still = []
        for i in pending:
            rounds[i] += 1
            if not any(v.passed for v in pool[i]) and rounds[i] < max_attempts:
                still.append(i)
                stats.regenerated += 1
        pending = still
    for i, result in enumerate(results):
        ranked = sorted(pool[i], key=rank_key)
        # distinct texts first; repeats only when too few distinct ones were written
        distinct: list[Variant] = []
        repeats: list[Variant] = []
        seen: set[str] = set()
        for variant in ranked:
            key = " ".join(str(variant.text).lower().split())
            (repeats if key in seen else distinct).append(variant)
            seen.add(key)
        chosen = (distinct + repeats)[: keep[i]]
        for index, variant in enumerate(chosen):
            variant.index = index
            variant.attempts = rounds[i]
            variant.rank = _rank_inputs(variant, index + 1, len(pool[i]))
        result.variants = chosen
        stats.fields += 1
    return results


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def _last_sentence_end(text: str, min_words: int) -> str:
    """``text`` up to its last sentence end, when that keeps at least ``min_words`` words."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    for end in reversed(ends):
        head = text[:end].strip()
        if len(head.split()) >= min_words:
            return head
        break
    return ""


# the words a line may not end on while decoding (contentgen.grounding), trimmed the same way
_DANGLING_TAIL = re.compile(
    r"(?:\s+(?:" + "|".join(re.escape(w) for w in sorted(DANGLING_WORDS)) + r"))+\s*$",
    re.IGNORECASE,
)


def _drop_partial_word(value: str | list[str]) -> str | list[str]:
    def trim(line: str) -> str:
        if not line or line[-1] in ".!?)\"'":
            return line
        head = line.rsplit(" ", 1)[0] if " " in line else line
        return _DANGLING_TAIL.sub("", head).rstrip(" ,;:-–—|")

    if isinstance(value, list):
        return [*value[:-1], trim(value[-1])] if value else value
    return trim(value)


_OPEN_NUMBER = re.compile(r"\s*\d[\d.,/\-]*$")


def _drop_open_number(value: str | list[str]) -> str | list[str]:
    if isinstance(value, list):
        return [*value[:-1], _OPEN_NUMBER.sub("", value[-1])] if value else value
    return _OPEN_NUMBER.sub("", value)


def _judge(request: CopyRequest, kind: str, out, voice, candidate: int, round_: int) -> Variant:
    spec = get_spec(kind)
    value = parse_answer(kind, out.text)
    truncated = out.truncated
    notes: list[Flag] = []
    if spec.is_list and truncated and isinstance(value, list) and len(value) > spec.min_items:
        value = value[:-1]  # the last line was cut mid-way; the complete ones stand
        truncated = False
    if getattr(out, "forced_end", False) and spec.name != "description":
        # the last line filled its limit mid-word: it ends at its last whole word
        value = _drop_partial_word(value)
    if truncated or getattr(out, "forced_end", False):
        # ended mid-number ("1/" of "1/2"): the partial number is not a fact
        value = _drop_open_number(value)
    if spec.name == "description" and truncated and isinstance(value, str):
        # out of tokens mid-sentence: the complete sentences stand when they are enough
        head = _last_sentence_end(value, (spec.min_words or 0) // 2)
        if head:
            value, truncated = head, False
    value, fit_notes = fit_value(kind, value)
    guard = check_copy(kind, value, request.facts, voice, truncated=truncated)
    flags = [f.to_dict() for f in notes + fit_notes] + guard.flag_dicts()
    return Variant(
        index=candidate,
        text=value,
        passed=guard.passed,
        flags=flags,
        coverage=guard.coverage,
        seed=out.seed,
        attempts=round_ + 1,
        raw=out.text,
        mean_logprob=getattr(out, "mean_logprob", 0.0),
    )
