"""One fine-tuning run from approved texts to a saved adapter (pure, no Django import).

Shared by the ``finetune_copy`` command, the Celery task and the benchmark, so they
validate, split, train and evaluate the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contentgen.finetuning import data as D
from contentgen.finetuning import training as T


@dataclass
class RunOutcome:
    result: T.FinetuneResult
    prepared: D.PreparedData
    base_label: str

    def summary(self) -> dict[str, Any]:
        out = self.result.summary()
        out["data"] = self.prepared.report()
        out["base_model"] = self.base_label
        return out


def finetune_records(
    records: Sequence[D.CopyRecord],
    *,
    out_dir: str | os.PathLike,
    model: str | None = None,
    settings: T.LoraSettings | None = None,
    voice: dict | None = None,
    eval_fraction: float = 0.2,
    min_examples: int = D.MIN_EXAMPLES,
    eval_samples: int = 12,
    check_guards: bool = True,
    progress: T.ProgressCallback | None = None,
    on_stage: Any = None,
    loaded: tuple[Any, Any, str] | None = None,
    init_adapter: str | os.PathLike | None = None,
) -> RunOutcome:
    """Validate ``records``, split, train a LoRA adapter into ``out_dir``, evaluate base vs adapter.

    ``loaded`` = (model, tokenizer, label) skips loading (the model is LoRA-wrapped in place).
    ``on_stage(message)`` is told what is happening between progress steps.
    ``init_adapter`` (the house adapter, say) is where training starts; "base" in the report
    is then the model with that adapter.
    Raises :class:`training.FinetuneError` with the data messages when too few examples remain.
    """
    settings = settings or T.LoraSettings()
    stage = on_stage or (lambda message: None)
    stage(f"Loading base model {model or T.DEFAULT_MODEL_LABEL}")
    lm, tokenizer, label = loaded or T.load_base(model)
    T.ensure_pad_token(tokenizer)
    context = T.model_context_length(lm, tokenizer)
    max_length = min(settings.max_length, context) if context else settings.max_length
    stage("Checking the training data")
    prepared = D.prepare_examples(
        records,
        tokenizer,
        voice=voice,
        max_length=max_length,
        hard_check=D.guard_hard_check if check_guards else None,
    )
    if not prepared.enough(min_examples):
        raise T.FinetuneError(" ".join(prepared.messages(min_examples)))
    train, held_out = T.split_examples(prepared.examples, eval_fraction, settings.seed)
    hooks = D.guard_eval_hooks(voice, max_samples=eval_samples) if eval_samples > 0 else None
    from contentgen.prompts import PROMPT_VERSION

    stage(f"Training on {len(train)} examples, {len(held_out)} held out")
    result = T.finetune(
        model=lm,
        tokenizer=tokenizer,
        train=train,
        eval_examples=held_out,
        out_dir=out_dir,
        settings=settings,
        base_label=label,
        progress=progress,
        hooks=hooks,
        evaluate_generation=eval_samples > 0,
        init_adapter=init_adapter,
        extra_meta={
            "started_from": str(init_adapter) if init_adapter else "",
            "prompt_version": PROMPT_VERSION,
            "per_kind": prepared.per_kind,
            "left_out": prepared.counts,
        },
    )
    return RunOutcome(result=result, prepared=prepared, base_label=label)
