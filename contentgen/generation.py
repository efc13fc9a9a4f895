"""Generation: prompts -> batched model calls -> parsed values -> guards -> variants.

No Django import: the ``generate_copy`` command, the Celery task, the
benchmark and fine-tuning's evaluation all call :func:`generate`.

For each request (a product's facts and a kind) it makes the kind's number of
variants. Every variant is one sampled answer with its own seed
(:func:`derive_seed`: the same product, kind, variant, attempt and base seed
always give the same seed, so a re-run writes the same drafts). Answers are
parsed (:func:`contentgen.prompts.parse_answer`), list kinds are fitted to
their limits (over-length items left out, duplicates merged, at most
``max_items``), and every value goes through :func:`contentgen.guards.check_copy`.
A variant failing a hard guard is generated again with the next attempt's seed,
up to ``max_attempts``; then the best attempt (fewest hard flags, then highest
coverage) is kept with its flags for a human.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from contentgen.facts import is_thin
from contentgen.guards import SOFT, Flag, check_copy
from contentgen.prompts import DEFAULT_FACTS_BUDGET_CHARS, build_prompt, parse_answer, render_prompt
from contentgen.specs import get_spec

__all__ = [
    "CopyRequest",
    "Variant",
    "CopyResult",
    "GenerationStats",
    "derive_seed",
    "fit_value",
    "generate",
    "iter_generate",
]


@dataclass
class CopyRequest:
    """What to write: ``key`` identifies the product (its SKU), ``facts`` as in :mod:`contentgen.facts`."""

    key: str
    facts: dict
    kind: str


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

    def to_dict(self) -> dict:
        """The CLI's JSON shape: ``text``, ``passed``, ``flags``, ``coverage`` (+ seed, attempts)."""
        return {
            "text": self.text,
            "passed": self.passed,
            "flags": self.flags,
            "coverage": self.coverage,
            "seed": self.seed,
            "attempts": self.attempts,
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


def _rank(variant: Variant) -> tuple:
    hard = sum(1 for f in variant.flags if f["severity"] == "hard")
    return (hard, -variant.coverage, len(variant.flags))


@dataclass
class _Slot:
    request_index: int
    variant: int
    attempt: int = 0
    best: Variant | None = None


def shared_part(tokenizer, messages: list[dict], text: str) -> str | None:
    """The start of the rendered prompt ``text`` that other prompts of the kind share: the
    system turn (instructions, limits, voice), when the chat template renders it first."""
    if not getattr(tokenizer, "chat_template", None) or not messages:
        return None
    if messages[0].get("role") != "system":
        return None
    head = tokenizer.apply_chat_template(messages[:1], tokenize=False)
    return head if isinstance(head, str) and head and text.startswith(head) else None


def _fit_prompt(
    backend, request: CopyRequest, voice, segment, max_new_tokens
) -> tuple[str, list[str], list[dict]]:
    budget = DEFAULT_FACTS_BUDGET_CHARS
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
    seed: int = 0,
    batch_size: int = 16,
    max_attempts: int = 3,
    temperature: float = 0.7,
    top_p: float = 0.9,
    stats: GenerationStats | None = None,
    chunk_requests: int | None = None,
    max_new_tokens: int | None = None,
) -> Iterator[CopyResult]:
    """Yield a :class:`CopyResult` per request, in order, a chunk at a time.

    Requests are processed in chunks (default: enough to fill about two
    batches) so callers can save results, report progress and honour
    cancellation between chunks. ``max_new_tokens`` caps each kind's own token
    budget (tests and quick previews).
    """
    stats = stats if stats is not None else GenerationStats()
    if chunk_requests is None:
        per_request = max(1, variants or 2)
        chunk_requests = max(1, (2 * batch_size) // per_request)
    for start in range(0, len(requests), chunk_requests):
        chunk = list(requests[start : start + chunk_requests])
        yield from _generate_chunk(
            backend,
            chunk,
            voice=voice,
            segment=segment,
            variants=variants,
            seed=seed,
            batch_size=batch_size,
            max_attempts=max_attempts,
            temperature=temperature,
            top_p=top_p,
            stats=stats,
            max_new_tokens=max_new_tokens,
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
    seed,
    batch_size,
    max_attempts,
    temperature,
    top_p,
    stats: GenerationStats,
    max_new_tokens: int | None = None,
) -> list[CopyResult]:
    specs = [get_spec(r.kind) for r in requests]
    prompts: list[str] = []
    shared: list[str | None] = []
    results: list[CopyResult] = []
    for request, spec in zip(requests, specs, strict=True):
        text, warnings, messages = _fit_prompt(
            backend, request, voice, segment, spec.max_new_tokens
        )
        prompts.append(text)
        shared.append(shared_part(backend.tokenizer, messages, text))
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
    slots = [
        _Slot(i, v)
        for i, spec in enumerate(specs)
        for v in range(variants if variants is not None else spec.variants)
    ]
    pending = list(slots)
    while pending:
        # one pass per attempt; group by kind (same token budget), then by prompt length (less padding)
        pending.sort(key=lambda s: (specs[s.request_index].name, len(prompts[s.request_index])))
        by_kind: dict[str, list[_Slot]] = {}
        for slot in pending:
            by_kind.setdefault(specs[slot.request_index].name, []).append(slot)
        for kind, kind_slots in by_kind.items():
            spec = get_spec(kind)
            seeds = [
                derive_seed(seed, requests[s.request_index].key, kind, s.variant, s.attempt)
                for s in kind_slots
            ]
            started = time.perf_counter()
            outputs = backend.generate(
                [prompts[s.request_index] for s in kind_slots],
                seeds,
                max_new_tokens=min(spec.max_new_tokens, max_new_tokens or spec.max_new_tokens),
                temperature=temperature,
                top_p=top_p,
                batch_size=batch_size,
                prefixes=[shared[s.request_index] for s in kind_slots],
            )
            stats.model_seconds += time.perf_counter() - started
            stats.prompts += len(kind_slots)
            stats.new_tokens += sum(o.new_tokens for o in outputs)
            for slot, out in zip(kind_slots, outputs, strict=True):
                request = requests[slot.request_index]
                variant = _judge(request, spec.name, out, voice, slot)
                if slot.best is None or _rank(variant) < _rank(slot.best):
                    slot.best = variant
        still: list[_Slot] = []
        for slot in pending:
            slot.attempt += 1
            if not slot.best.passed and slot.attempt < max_attempts:
                still.append(slot)
                stats.regenerated += 1
        pending = still
    for slot in slots:
        slot.best.attempts = slot.attempt  # how many answers were sampled for this variant
        results[slot.request_index].variants.append(slot.best)
    for result in results:
        result.variants.sort(key=lambda v: v.index)
    return results


def _judge(request: CopyRequest, kind: str, out, voice, slot: _Slot) -> Variant:
    spec = get_spec(kind)
    value = parse_answer(kind, out.text)
    truncated = out.truncated
    if spec.is_list and truncated and isinstance(value, list) and len(value) > spec.min_items:
        value = value[:-1]  # the last line was cut mid-way; the complete ones stand
        truncated = False
    value, notes = fit_value(kind, value)
    guard = check_copy(kind, value, request.facts, voice, truncated=truncated)
    flags = [f.to_dict() for f in notes] + guard.flag_dicts()
    return Variant(
        index=slot.variant,
        text=value,
        passed=guard.passed,
        flags=flags,
        coverage=guard.coverage,
        seed=out.seed,
        attempts=slot.attempt + 1,
        raw=out.text,
    )
