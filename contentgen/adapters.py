"""LoRA adapters the generation workers may load, and the house adapter (pure, no torch).

The **house adapter** (``contentgen/house_adapter/``) is a LoRA adapter for the default base
model, trained on real product copy whose claims are grounded in its facts
(``python manage.py house_adapter`` rebuilds it; ``docs/house-adapter.md`` is its data card).
Generation uses it for every merchant without an active adapter of its own, and a merchant's
fine-tuning starts from it. ``CONTENTGEN_HOUSE_ADAPTER=0`` turns it off (the bare base model).

This module imports neither torch nor Django, so the web process can name adapters in pages.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

__all__ = [
    "HOUSE_ADAPTER_ID",
    "HOUSE_ADAPTER_DIR",
    "AdapterFileError",
    "adapter_id_for",
    "check_adapter_files",
    "house_adapter_dir",
    "is_default_model",
]

HOUSE_ADAPTER_ID = "house"
HOUSE_ADAPTER_DIR = Path(__file__).resolve().parent / "house_adapter"
DEFAULT_MODEL_LABEL = "SmolLM2-135M-Instruct"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
META_FILE = "merchlab_adapter.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


class AdapterFileError(RuntimeError):
    """An adapter folder is missing a file, has a corrupt one, or fits another base model; the
    message names the file."""


def is_default_model(model: str | None) -> bool:
    """Whether ``model`` names the default base model (empty, ``default``, its label or GGUF)."""
    name = (model or "").strip()
    return (
        not name
        or name.lower() in ("default", DEFAULT_MODEL_LABEL.lower())
        or os.path.basename(name) == DEFAULT_GGUF_FILE
    )


def house_adapter_dir(model: str | None = None) -> Path | None:
    """The house adapter's folder when generation should use it: the base model is the
    default one (the adapter fits no other) and ``CONTENTGEN_HOUSE_ADAPTER`` is not ``0``."""
    if os.environ.get("CONTENTGEN_HOUSE_ADAPTER", "1").strip().lower() in ("0", "false", "no"):
        return None
    model = model if model is not None else os.environ.get("CONTENTGEN_BASE_MODEL")
    return HOUSE_ADAPTER_DIR if is_default_model(model) else None


def adapter_id_for(path: str | os.PathLike | None) -> str:
    """What a draft records as its adapter: ``house``, the adapter's folder, or "" (base)."""
    if not path:
        return ""
    if Path(path).resolve() == HOUSE_ADAPTER_DIR:
        return HOUSE_ADAPTER_ID
    return str(path)


def _check_safetensors(path: Path) -> None:
    # a safetensors file starts with an 8-byte little-endian header length and a JSON header
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) != 8:
            raise ValueError("the file is shorter than its header")
        (size,) = struct.unpack("<Q", head)
        if size <= 0 or size > 100_000_000:
            raise ValueError("the header length is not plausible")
        header = json.loads(fh.read(size))
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if path.stat().st_size < 8 + size + end:
        raise ValueError("the file is cut short")


def check_adapter_files(path: str | os.PathLike, base_label: str | None = None) -> None:
    """Raise :class:`AdapterFileError` naming the file when ``path`` is not a loadable LoRA
    adapter: no ``adapter_config.json`` or weights, an unreadable or cut-short file, or an
    adapter trained on another base model than ``base_label`` (when given)."""
    folder = Path(path)
    config = folder / "adapter_config.json"
    if not config.is_file():
        raise AdapterFileError(f"Adapter file {config} is missing.")
    try:
        json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise AdapterFileError(f"Adapter file {config} is not valid JSON: {exc}") from exc
    weights = next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    if weights is None:
        raise AdapterFileError(f"Adapter file {folder / WEIGHT_FILES[0]} is missing.")
    if weights.suffix == ".safetensors":
        try:
            _check_safetensors(weights)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise AdapterFileError(f"Adapter file {weights} is corrupt: {exc}") from exc
    meta_path = folder / META_FILE
    if base_label and meta_path.is_file():
        try:
            trained_on = json.loads(meta_path.read_text()).get("base_model") or ""
        except (OSError, ValueError) as exc:
            raise AdapterFileError(f"Adapter file {meta_path} is not valid JSON: {exc}") from exc
        same = (is_default_model(trained_on) and is_default_model(base_label)) or (
            trained_on.rstrip("/") == base_label.rstrip("/")
        )
        if trained_on and not same:
            raise AdapterFileError(
                f"The adapter in {folder} was trained on the base model {trained_on!r}, not "
                f"{base_label!r}: an adapter only works on the model it was trained on."
            )


def resolve_adapter_option(value: str | None, model: str | None) -> str | None:
    """The adapter folder for a command's ``--adapter`` option: ``house`` (the house adapter,
    default model only), ``none`` (the bare base model), a folder; unset means the house
    adapter where it applies. Raises :class:`AdapterFileError` naming what is wrong."""
    choice = (value or "").strip()
    if choice.lower() == "none":
        return None
    if not choice or choice.lower() == HOUSE_ADAPTER_ID:
        if not is_default_model(model):
            if choice:
                raise AdapterFileError(
                    f"The house adapter fits only {DEFAULT_MODEL_LABEL}, not {model!r}."
                )
            return None
        if not choice and house_adapter_dir(model) is None:
            return None  # CONTENTGEN_HOUSE_ADAPTER=0
        check_adapter_files(HOUSE_ADAPTER_DIR, DEFAULT_MODEL_LABEL)
        return str(HOUSE_ADAPTER_DIR)
    check_adapter_files(choice, model or DEFAULT_MODEL_LABEL)
    return choice
