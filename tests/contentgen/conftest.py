"""Fixtures for contentgen: a tiny randomly initialised Llama saved as a local checkpoint folder.

Built offline in seconds: a byte-level BPE tokenizer trained on a few shop sentences and
the real prompt wording, with a ChatML chat template, and a 2-layer Llama with random weights.
Saved with ``save_pretrained`` so the backend loads it by path, like any local HF checkpoint.
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
]


def build_tiny_checkpoint(path) -> str:
    """Write a tiny tokenizer + random Llama to ``path`` and return it (also used by the browser test)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from contentgen.prompts import build_messages
    from contentgen.specs import KIND_NAMES

    facts = {
        "title": "Copper Kettle",
        "brand": "Acme",
        "attributes": {"Material": "copper", "Capacity": "1.7 l"},
    }
    corpus = SHOP_TEXT * 3 + [
        m["content"] for k in KIND_NAMES for m in build_messages(facts, k, {"tone": "warm"})
    ]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        bos_token_id=fast.bos_token_id,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def tiny_backend(tiny_checkpoint):
    from contentgen import backends

    backend = backends.load_backend(tiny_checkpoint, device="cpu")
    yield backend
    backend.use_adapter(None)
