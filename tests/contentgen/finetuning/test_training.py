"""LoRA training on the tiny fixture model: learns, checkpoints, resumes, saves a loadable adapter."""

from __future__ import annotations

import json

import pytest
import torch

from contentgen.finetuning import training as T


def _examples(tokenizer, n=16):
    items = []
    for i in range(n):
        prompt, answer = T.render_example(
            tokenizer,
            [{"role": "user", "content": f"Write a description for product {i}: copper kettle"}],
            "A sturdy copper kettle that boils water fast and keeps the handle cool.",
        )
        items.append(T.Example(prompt, answer, {"kind": "description", "text": "kettle"}))
    return items


def _settings(**overrides):
    values = dict(
        max_steps=8, batch_size=4, learning_rate=2e-2, checkpoint_every=2, warmup_ratio=0.0
    )
    values.update(overrides)
    return T.LoraSettings(**values)


def _lora_weights(model) -> dict[str, torch.Tensor]:
    # Keyed from "layers." on, so a PeftModel and an in-place wrapped model compare equal.
    return {
        k[k.index("layers.") :]: v.detach().clone()
        for k, v in model.named_parameters()
        if "lora_" in k
    }


def test_prompt_tokens_are_masked_and_answer_ends_with_end_of_turn(tiny_tokenizer):
    ex = _examples(tiny_tokenizer, 1)[0]
    assert ex.prompt.endswith("<|im_start|>assistant\n")
    assert ex.answer.startswith("A sturdy copper kettle") and "<|im_end|>" in ex.answer
    enc = T.encode_example(tiny_tokenizer, ex)
    n_prompt = len(tiny_tokenizer(ex.prompt, add_special_tokens=False)["input_ids"])
    assert enc.labels[:n_prompt] == [-100] * n_prompt
    assert enc.labels[n_prompt:] == enc.input_ids[n_prompt:]
    assert tiny_tokenizer.decode(enc.input_ids[n_prompt:]).startswith("A sturdy copper kettle")


def test_a_few_steps_change_the_adapter_and_lower_the_loss(tiny_model, tiny_tokenizer, tmp_path):
    train = _examples(tiny_tokenizer)
    seen = []
    result = T.finetune(
        model=tiny_model,
        tokenizer=tiny_tokenizer,
        train=train,
        eval_examples=train[:4],
        out_dir=tmp_path / "adapter",
        settings=_settings(),
        progress=lambda step, total, loss, left: seen.append((step, total, loss, left)),
        evaluate_generation=False,
    )
    assert result.steps == 8 and [s[0] for s in seen] == list(range(1, 9))
    assert all(total == 8 and left >= 0 for _, total, _, left in seen)
    assert seen[-1][2] < seen[0][2]
    assert result.adapter["eval_loss"] < result.base["eval_loss"]
    # LoRA B starts at zero: after training it is not, so the adapter changed the model.
    b_weights = [v for k, v in _lora_weights(tiny_model).items() if "lora_B" in k]
    assert b_weights and any(float(w.abs().sum()) > 0 for w in b_weights)
    summary = result.summary()
    assert set(summary["base"]) >= {"eval_loss", "guard_pass_rate"}
    assert {"train_loss", "steps", "seconds"} <= set(summary)
    assert not (tmp_path / "adapter" / T.CHECKPOINTS_DIR).exists()


def test_saved_adapter_loads_with_peft_and_changes_outputs(tiny_model, tiny_tokenizer, tmp_path):
    from peft import PeftModel

    base_state = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    train = _examples(tiny_tokenizer)
    T.finetune(
        model=tiny_model,
        tokenizer=tiny_tokenizer,
        train=train,
        out_dir=tmp_path / "adapter",
        settings=_settings(),
        base_label="tiny",
        evaluate_generation=False,
    )
    meta = json.loads((tmp_path / "adapter" / T.ADAPTER_META_FILE).read_text())
    assert meta["base_model"] == "tiny" and meta["steps"] == 8

    from transformers import LlamaForCausalLM

    fresh = LlamaForCausalLM(tiny_model.config)
    fresh.load_state_dict(base_state)
    ids = torch.tensor([T.encode_example(tiny_tokenizer, train[0]).input_ids])
    with torch.no_grad():
        before = fresh(ids).logits
    loaded = PeftModel.from_pretrained(fresh, str(tmp_path / "adapter"))
    with torch.no_grad():
        after = loaded(ids).logits
    assert not torch.allclose(before, after)


def test_interrupted_run_resumes_from_last_checkpoint(tiny_tokenizer, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    def fresh_model():
        torch.manual_seed(0)
        cfg = LlamaConfig(
            vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            pad_token_id=tiny_tokenizer.pad_token_id,
        )  # fmt: skip
        return LlamaForCausalLM(cfg)

    train = _examples(tiny_tokenizer)
    out = tmp_path / "adapter"

    class WorkerKilled(Exception):
        pass

    def die_at_five(step, total, loss, left):
        if step == 5:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        T.finetune(
            model=fresh_model(), tokenizer=tiny_tokenizer, train=train, out_dir=out,
            settings=_settings(), progress=die_at_five, evaluate_generation=False,
        )  # fmt: skip
    assert T.latest_checkpoint(out) is not None and T.latest_checkpoint(out).name == "step-0000004"

    steps_after_restart = []
    resumed = T.finetune(
        model=fresh_model(), tokenizer=tiny_tokenizer, train=train, out_dir=out,
        settings=_settings(), progress=lambda s, *_: steps_after_restart.append(s),
        evaluate_generation=False,
    )  # fmt: skip
    assert resumed.resumed_from_step == 4
    assert steps_after_restart == [5, 6, 7, 8] and resumed.steps == 8

    # The resumed run ends where an uninterrupted run ends (same data order, optimizer, RNG).
    straight_model = fresh_model()
    T.finetune(
        model=straight_model, tokenizer=tiny_tokenizer, train=train, out_dir=tmp_path / "straight",
        settings=_settings(), evaluate_generation=False,
    )  # fmt: skip
    from peft import PeftModel

    resumed_model = PeftModel.from_pretrained(fresh_model(), str(out))
    a, b = _lora_weights(resumed_model), _lora_weights(straight_model)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_checkpoint_of_other_data_is_not_resumed(tiny_tokenizer, tiny_model, tmp_path):
    train = _examples(tiny_tokenizer)
    out = tmp_path / "adapter"

    def stop(step, *_):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.finetune(
            model=tiny_model, tokenizer=tiny_tokenizer, train=train, out_dir=out,
            settings=_settings(), progress=stop, evaluate_generation=False,
        )  # fmt: skip
    other = _examples(tiny_tokenizer, 12)
    from transformers import LlamaForCausalLM

    model2 = LlamaForCausalLM(tiny_model.config)
    result = T.finetune(
        model=model2, tokenizer=tiny_tokenizer, train=other, out_dir=out,
        settings=_settings(), evaluate_generation=False,
    )  # fmt: skip
    assert result.resumed_from_step == 0


def test_generation_evaluation_reports_guard_rate_coverage_and_samples(
    tiny_model, tiny_tokenizer, tmp_path
):
    train = _examples(tiny_tokenizer)
    hooks = T.EvalHooks(
        generate=lambda m, tok, exs: T.greedy_generate(
            m, tok, [e.prompt for e in exs], max_new_tokens=6
        ),
        score=lambda text, ex: (True, 0.5),
        max_samples=3,
        side_by_side=2,
    )
    result = T.finetune(
        model=tiny_model, tokenizer=tiny_tokenizer, train=train, eval_examples=train[:3],
        out_dir=tmp_path / "a", settings=_settings(max_steps=2), hooks=hooks,
    )  # fmt: skip
    assert result.base["guard_pass_rate"] == 1.0 and result.adapter["coverage"] == 0.5
    assert len(result.samples) == 2 and {"base", "adapter", "reference"} <= set(result.samples[0])


def test_unknown_setting_and_bad_values_are_refused():
    with pytest.raises(T.FinetuneError, match="Unknown fine-tuning settings: rnak"):
        T.LoraSettings.from_dict({"rnak": 8})
    with pytest.raises(T.FinetuneError, match="rank must be at least 1"):
        T.LoraSettings(rank=0)


def test_out_of_memory_message_names_the_settings_to_lower():
    settings = T.LoraSettings(batch_size=16, max_length=1024, rank=64)
    msg = T.oom_message(settings, "cuda:0")
    assert (
        "GPU memory" in msg
        and "batch_size=16" in msg
        and "max_length=1024" in msg
        and "rank=64" in msg
    )
    assert T._is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not T._is_oom(RuntimeError("shape mismatch"))


def test_wrong_target_modules_give_a_clear_error(tiny_model, tiny_tokenizer, tmp_path):
    with pytest.raises(T.FinetuneError, match="target modules"):
        T.finetune(
            model=tiny_model, tokenizer=tiny_tokenizer, train=_examples(tiny_tokenizer),
            out_dir=tmp_path / "a", settings=_settings(target_modules=("c_attn",)),
            evaluate_generation=False,
        )  # fmt: skip


def test_split_is_deterministic_and_keeps_one_for_eval(tiny_tokenizer):
    items = _examples(tiny_tokenizer, 5)
    train1, eval1 = T.split_examples(items, 0.1, seed=3)
    train2, eval2 = T.split_examples(items, 0.1, seed=3)
    assert len(eval1) == 1 and len(train1) == 4
    assert [e.prompt for e in eval1] == [e.prompt for e in eval2]
