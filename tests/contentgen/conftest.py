"""Fixtures for contentgen and fine-tuning: one tiny randomly initialised Llama and its tokenizer.

Built offline in seconds: a byte-level BPE tokenizer trained on a few shop sentences and the
real prompt wording (so prompts tokenize to a realistic length), with a ChatML chat template,
and a 2-layer Llama with random weights. ``tiny_checkpoint`` (alias ``tiny_model_dir``) saves
both with ``save_pretrained`` so the backend and the services load it by path, like any local HF
checkpoint; ``tiny_model`` is a fresh in-memory copy per test (LoRA wraps a model in place).
Other test packages build the same checkpoint with :func:`build_tiny_checkpoint`.
"""

from __future__ import annotations

import pytest

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SHOP_TEXT = [
    "A sturdy copper kettle that boils water fast and keeps the handle cool.",
    "Soft organic cotton tee in navy blue, cut for an easy everyday fit.",
    "Stoneware mug, 350 ml, sage green, dishwasher safe.",
    "- Holds 350 ml\n- Sage green glaze\n- Made by Clayhouse",
    "Stainless steel staples, half inch leg, box of one thousand.",
    "system user assistant description seo_title ad_headlines friendly premium playful",
]


def _prompt_corpus() -> list[str]:
    from contentgen.prompts import build_messages
    from contentgen.specs import KIND_NAMES

    facts = {
        "title": "Copper Kettle",
        "brand": "Acme",
        "attributes": {"Material": "copper", "Capacity": "1.7 l"},
    }
    voice = {"tone": "friendly", "audience": "home cooks", "language": "en"}
    return [m["content"] for k in KIND_NAMES for m in build_messages(facts, k, voice)]


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer (vocabulary 1500) with a ChatML template and ``<|im_end|>`` as EOS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(SHOP_TEXT * 4 + _prompt_corpus() * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    return fast


def build_tiny_model(tokenizer, *, max_positions: int = 2048):
    """A 2-layer Llama (hidden size 32) with random weights, seeded, for ``tokenizer``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    return LlamaForCausalLM(config)


def build_tiny_checkpoint(path, tokenizer=None) -> str:
    """Write the tiny tokenizer + random Llama to ``path`` and return it (other packages use it too)."""
    tokenizer = tokenizer or build_tiny_tokenizer()
    build_tiny_model(tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_tokenizer) -> str:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"), tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_checkpoint) -> str:
    """The tiny checkpoint folder (a model "id" the services and commands accept)."""
    return tiny_checkpoint


@pytest.fixture
def tiny_model(tiny_tokenizer):
    """A fresh tiny Llama (512 positions) per test: LoRA wraps it in place."""
    return build_tiny_model(tiny_tokenizer, max_positions=512)


@pytest.fixture
def tiny_backend(tiny_checkpoint):
    from contentgen import backends

    backend = backends.load_backend(tiny_checkpoint, device="cpu")
    yield backend
    backend.use_adapter(None)
