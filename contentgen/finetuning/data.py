"""Training data for brand-voice fine-tuning (pure, no Django import).

An example is the prompt generation itself sends for a product and kind
(``contentgen.prompts.build_messages(facts, kind, voice)`` rendered with the tokenizer's
chat template), paired with the text the merchant approved. Training and use therefore see
the same prompt.

Validation leaves bad examples out with a count and a message rather than training on them:
unknown kind, empty text, duplicates, texts that fail a hard guard
(``contentgen.guards.check_copy``), and examples longer than the training context.

Minimum: :data:`MIN_EXAMPLES` = 30 usable examples to start a run. With the default 20 %
hold-out that leaves 24 to train on and 6 to judge base against adapter; with fewer the
held-out loss difference is mostly noise, and LoRA on a couple of dozen texts memorises
them rather than learning a voice. :data:`ENOUGH_PER_KIND` = 50 is the "enough" verdict per
kind on the data page: our rule of thumb so each kind's phrasing is seen several times per
epoch. Both are choices, not laws; an expert can train on fewer through the command line
with ``--min-examples``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contentgen.finetuning.training import Example, encode_example
from contentgen.specs import KIND_NAMES, get_spec, normalize_kind
from merchandising import inputs

MIN_EXAMPLES = 30
ENOUGH_PER_KIND = 50
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

MessagesBuilder = Callable[[dict, str, Any], list[dict[str, str]]]
# check(kind, value, facts, voice) -> list of plain-language reasons it fails a hard guard
HardCheck = Callable[[str, Any, dict, Any], list[str]]


@dataclass
class CopyRecord:
    """One approved text for one product and kind. ``value`` is a str, or list[str] for list kinds."""

    facts: dict
    kind: str
    value: str | list[str]
    source: str = "upload"
    ref: str = ""  # where it came from, for messages: "line 12", "draft 381"


@dataclass
class Rejection:
    reason: str
    ref: str
    detail: str = ""


REASON_TEXT = {
    "unknown_kind": "an unknown content kind",
    "empty": "an empty text",
    "duplicate": "a duplicate of an earlier example",
    "failed_guards": "text that fails a hard guard (it would teach the model that mistake)",
    "too_long": "longer than the training context",
}


@dataclass
class PreparedData:
    examples: list[Example]
    rejected: list[Rejection] = field(default_factory=list)
    max_length: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.reason for r in self.rejected))

    @property
    def per_kind(self) -> dict[str, int]:
        return dict(Counter(e.meta["kind"] for e in self.examples))

    def messages(self, min_examples: int = MIN_EXAMPLES) -> list[str]:
        """Plain-language summary of what was left out and whether there is enough."""
        out = []
        for reason, n in sorted(self.counts.items()):
            what = REASON_TEXT.get(reason, reason)
            if reason == "too_long":
                what += f" ({self.max_length} tokens); shorten the text or raise max_length"
            out.append(f"{n} example{'s' if n != 1 else ''} left out: {what}.")
        if len(self.examples) < min_examples:
            out.append(
                f"Only {len(self.examples)} usable examples; at least {min_examples} are needed "
                "so that a held-out part can show whether the adapter is better."
            )
        return out

    def enough(self, min_examples: int = MIN_EXAMPLES) -> bool:
        return len(self.examples) >= min_examples

    def report(self, min_examples: int = MIN_EXAMPLES) -> dict[str, Any]:
        return {
            "usable": len(self.examples),
            "per_kind": self.per_kind,
            "left_out": self.counts,
            "messages": self.messages(min_examples),
            "enough": self.enough(min_examples),
            "min_examples": min_examples,
        }


def kind_verdicts(per_kind: dict[str, int]) -> list[dict[str, Any]]:
    """Per kind: count and an "enough?" verdict for the data page."""
    rows = []
    for kind in KIND_NAMES:
        n = per_kind.get(kind, 0)
        if n >= ENOUGH_PER_KIND:
            verdict = "enough"
        elif n > 0:
            verdict = f"few: {ENOUGH_PER_KIND - n} more recommended"
        else:
            verdict = "none"
        rows.append(
            {
                "kind": kind,
                "label": get_spec(kind).label,
                "count": n,
                "verdict": verdict,
                "enough": n >= ENOUGH_PER_KIND,
            }
        )
    return rows


# --------------------------------------------------------------------------- text shape


def answer_text(kind: str, value: str | list[str]) -> str:
    """The text the model should write for ``value``: ``contentgen.prompts.format_answer``."""
    from contentgen.prompts import format_answer

    return format_answer(normalize_kind(kind), value)


def render_pair(tokenizer: Any, messages: list[dict[str, str]], text: str) -> tuple[str, str]:
    """(prompt exactly as generation renders it, answer to learn including the end-of-turn marker)."""
    from contentgen.prompts import render_prompt

    prompt = render_prompt(tokenizer, messages)
    if getattr(tokenizer, "chat_template", None):
        full = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": text}], tokenize=False
        )
        if full.startswith(prompt):
            return prompt, full[len(prompt) :]
    return prompt, (" " if not prompt.endswith((" ", "\n")) else "") + text + (
        tokenizer.eos_token or ""
    )


def _as_value(kind: str, value: str | list[str]) -> str | list[str]:
    """The guards' view of ``value``: list[str] for list kinds, str otherwise."""
    spec = get_spec(kind)
    if spec.is_list:
        items = value.splitlines() if isinstance(value, str) else [str(v) for v in value]
        return [i.strip().removeprefix("- ").strip() for i in items if i.strip()]
    return value.strip() if isinstance(value, str) else " ".join(str(v) for v in value).strip()


def facts_without_answer(facts: dict, kind: str, text: str) -> dict:
    """Facts with any existing copy equal to the answer removed, so the prompt cannot leak it."""
    facts = dict(facts)
    norm = " ".join(text.split()).lower()

    def same(v: Any) -> bool:
        joined = "\n".join(v) if isinstance(v, list) else str(v or "")
        return " ".join(joined.split()).lower().replace("- ", "") == norm.replace("- ", "")

    if same(facts.get("description")):
        facts.pop("description")
    copy = facts.get("copy")
    if isinstance(copy, dict):
        facts["copy"] = {k: v for k, v in copy.items() if not same(v)}
    return facts


def _voice_without(voice: Any, text: str) -> Any:
    """The voice minus example copy equal to the answer (approved texts become voice examples)."""
    if not isinstance(voice, dict) or not voice.get("examples"):
        return voice
    norm = " ".join(text.split()).lower()

    def example_text(example: Any) -> str:
        value = example.get("text") if isinstance(example, dict) else example
        value = "\n".join(value) if isinstance(value, list) else str(value or "")
        return " ".join(value.replace("- ", " ").split()).lower()

    keep = [
        e for e in voice["examples"] if example_text(e) != " ".join(norm.replace("- ", " ").split())
    ]
    return {**voice, "examples": keep}


# --------------------------------------------------------------------------- defaults from contentgen


def default_messages_builder() -> MessagesBuilder:
    """``contentgen.prompts.build_messages`` (imported late: this module must import without it)."""
    from contentgen.prompts import build_messages

    return build_messages


def guard_hard_check(kind: str, value: Any, facts: dict, voice: Any) -> list[str]:
    """Hard-guard failures of ``contentgen.guards.check_copy`` as messages."""
    from contentgen.guards import HARD, check_copy

    result = check_copy(kind, value, facts, voice if isinstance(voice, dict) else None)
    return [f.message for f in result.flags if f.severity == HARD]


# --------------------------------------------------------------------------- preparation


def prepare_examples(
    records: Iterable[CopyRecord],
    tokenizer: Any,
    *,
    voice: Any = None,
    max_length: int = 1024,
    build_messages: MessagesBuilder | None = None,
    hard_check: HardCheck | None = guard_hard_check,
) -> PreparedData:
    """Turn approved texts into training examples, leaving out bad ones with reasons.

    ``hard_check=None`` skips the guards (benchmarks on outside data whose facts are sparse).
    """
    build = build_messages or default_messages_builder()
    examples: list[Example] = []
    rejected: list[Rejection] = []
    seen: set[tuple[str, str]] = set()
    for rec in records:
        try:
            kind = normalize_kind(rec.kind)
        except ValueError:
            rejected.append(
                Rejection(
                    "unknown_kind", rec.ref, f"kind {rec.kind!r}; known: {', '.join(KIND_NAMES)}"
                )
            )
            continue
        value = _as_value(kind, rec.value)
        if not value:
            rejected.append(Rejection("empty", rec.ref))
            continue
        text = answer_text(kind, value)
        facts = facts_without_answer(rec.facts or {}, kind, text)
        if hard_check is not None:
            reasons = hard_check(kind, value, facts, voice)
            if reasons:
                rejected.append(Rejection("failed_guards", rec.ref, " ".join(reasons)))
                continue
        prompt, answer = render_pair(
            tokenizer, build(facts, kind, _voice_without(voice, text)), text
        )
        key = (prompt, " ".join(text.split()).lower())
        if key in seen:
            rejected.append(Rejection("duplicate", rec.ref))
            continue
        seen.add(key)
        example = Example(
            prompt=prompt,
            answer=answer,
            meta={
                "kind": kind,
                "text": text,
                "value": value,
                "facts": facts,
                "title": facts.get("title", ""),
                "sku": facts.get("sku", ""),
                "source": rec.source,
                "ref": rec.ref,
            },
        )
        n_tokens = len(encode_example(tokenizer, example).input_ids)
        if n_tokens > max_length:
            rejected.append(Rejection("too_long", rec.ref, f"{n_tokens} tokens"))
            continue
        examples.append(example)
    return PreparedData(examples=examples, rejected=rejected, max_length=max_length)


# --------------------------------------------------------------------------- uploads


class UploadError(ValueError):
    """The upload cannot be read at all (wrong format, too big)."""


def _facts_from_flat(row: dict[str, Any]) -> dict:
    from contentgen.facts import facts_from_row

    return facts_from_row({k: v for k, v in row.items() if k not in ("kind", "text")})


def parse_upload(
    content: bytes | str, filename: str = "upload.jsonl"
) -> tuple[list[CopyRecord], list[str]]:
    """Parse a JSONL or CSV file of past copy into records; returns (records, line errors).

    JSONL: one object per line, ``{"product": {...facts...}, "kind": "description", "text": "..."}``
    (``text`` may be a list for list kinds). CSV: columns ``kind`` and ``text`` plus the
    product columns of the generate_copy CSV (``sku,title,brand,category,price`` and any
    attribute columns); list kinds put one item per line inside the quoted text cell.
    """
    if isinstance(content, bytes):
        if len(content) > MAX_UPLOAD_BYTES:
            raise UploadError(f"The file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UploadError("The file is not UTF-8 text.") from exc
    name = filename.lower()
    if name.endswith(".csv"):
        return _parse_csv(content)
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return _parse_jsonl(content)
    raise UploadError("Upload a .jsonl or .csv file.")


def _parse_jsonl(text: str) -> tuple[list[CopyRecord], list[str]]:
    records, errors = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = inputs.json_loads(line)
        except inputs.JSONRefused as exc:
            errors.append(f"line {n}: {exc}")
            continue
        if not isinstance(obj, dict):
            errors.append(f"line {n}: expected an object with product, kind and text.")
            continue
        missing = [k for k in ("product", "kind", "text") if k not in obj]
        if missing:
            errors.append(f"line {n}: missing {', '.join(missing)}.")
            continue
        product = obj["product"]
        if not isinstance(product, dict):
            errors.append(f"line {n}: product must be an object of facts.")
            continue
        if not isinstance(obj["text"], str | list):
            errors.append(f"line {n}: text must be a string or a list of strings.")
            continue
        records.append(
            CopyRecord(facts=product, kind=str(obj["kind"]), value=obj["text"], ref=f"line {n}")
        )
    return records, errors


def _parse_csv(text: str) -> tuple[list[CopyRecord], list[str]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or [])
    missing = {"kind", "text", "title"} - columns
    if missing:
        raise UploadError(
            f"The CSV needs columns kind, text and title; missing: {', '.join(sorted(missing))}."
        )
    records, errors = [], []
    for n, row in enumerate(reader, start=2):
        if not (row.get("title") or "").strip():
            errors.append(f"line {n}: empty title.")
            continue
        records.append(
            CopyRecord(
                facts=_facts_from_flat(row),
                kind=row.get("kind") or "",
                value=row.get("text") or "",
                ref=f"line {n}",
            )
        )
    return records, errors


def records_to_jsonl(records: Sequence[CopyRecord]) -> str:
    """The JSONL form of ``records`` (the command line's input format)."""
    return "".join(
        json.dumps({"product": r.facts, "kind": r.kind, "text": r.value}) + "\n" for r in records
    )


# --------------------------------------------------------------------------- evaluation hooks


def generate_by_kind(model: Any, tokenizer: Any, examples: Sequence[Example]) -> list[str]:
    """Greedy generation from each example's prompt, with its kind's token budget."""
    from contentgen.finetuning.training import greedy_generate

    texts: list[str] = [""] * len(examples)
    by_kind: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        by_kind.setdefault(ex.meta.get("kind", "description"), []).append(i)
    for kind, idx in by_kind.items():
        outs = greedy_generate(
            model,
            tokenizer,
            [examples[i].prompt for i in idx],
            max_new_tokens=get_spec(kind).max_new_tokens,
        )
        for i, text in zip(idx, outs, strict=True):
            texts[i] = text
    return texts


def guard_eval_hooks(voice: Any = None, *, max_samples: int = 16, side_by_side: int = 3):
    """Evaluation hooks that score generated texts with ``contentgen.guards.check_copy``."""
    from contentgen.finetuning.training import EvalHooks
    from contentgen.guards import check_copy

    def score(text: str, example: Example) -> tuple[bool, float]:
        kind = example.meta.get("kind", "description")
        from contentgen.prompts import parse_answer

        value = parse_answer(kind, text)
        result = check_copy(
            kind, value, example.meta.get("facts", {}), voice if isinstance(voice, dict) else None
        )
        return result.passed, result.coverage

    return EvalHooks(
        generate=generate_by_kind, score=score, max_samples=max_samples, side_by_side=side_by_side
    )
