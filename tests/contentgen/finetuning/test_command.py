"""finetune_copy: JSONL in, adapter folder out, the JSON report on stdout."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.contentgen.finetuning.test_services import _upload


def test_finetune_copy_writes_a_loadable_adapter_and_prints_the_report(tmp_path, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    train = tmp_path / "copy.jsonl"
    train.write_bytes(_upload() + b"{not json\n")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "finetune_copy",
        train=str(train),
        out=str(tmp_path / "adapter"),
        model=tiny_model_dir,
        max_steps=3,
        eval_fraction=0.2,
        seed=1,
        eval_samples=2,
        stdout=out,
        stderr=err,
    )
    report = json.loads(out.getvalue())
    assert set(report["base"]) >= {"eval_loss", "guard_pass_rate"}
    assert set(report["adapter"]) >= {"eval_loss", "guard_pass_rate"}
    assert report["steps"] == 3 and report["train_loss"] > 0 and report["seconds"] > 0
    assert report["data"]["left_out"] == {"failed_guards": 1}
    assert "skipped line 36: not valid JSON" in err.getvalue()
    assert "1 example left out: text that fails a hard guard" in err.getvalue()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    PeftModel.from_pretrained(base, str(tmp_path / "adapter"))


def test_finetune_copy_refuses_too_few_examples(tmp_path, tiny_model_dir):
    train = tmp_path / "copy.jsonl"
    train.write_bytes(_upload(4))
    with pytest.raises(CommandError, match="at least 30 are needed"):
        call_command(
            "finetune_copy", train=str(train), out=str(tmp_path / "a"), model=tiny_model_dir
        )
