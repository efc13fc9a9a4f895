"""The house copywriting adapter: its training data, built from real product copy (pure).

No Django import: the ``house_adapter`` command, the tests and the benchmarks share it.

The house adapter is a LoRA adapter for the default base model that every merchant without an
adapter of its own writes with. It is trained on real, human-written product copy whose every
claim is backed by the facts the model is shown, using the project's own prompt
(``build_messages`` + ``render_prompt`` + ``format_answer``, through
:func:`contentgen.finetuning.data.prepare_examples`, exactly as a merchant's fine-tuning does).

Sources (``../shared/data``; each folder's README says where it comes from):

- ``product_copy/myntra_fashion_copy.csv.gz``: fashion products, an attribute table each, with a
  real description;
- ``amazon_scientific/items.csv``: industrial and lab items, facts only in title, brand and
  category;
- ``product_copy/magento_luma_copy.csv``: 185 sportswear and gear products, kept whole for
  evaluation (never trained on).

Every kind gets a target derived from the product's own data, never written by us
(:func:`derive_targets`; the data card in ``docs/house-adapter.md`` says how). A target is kept
only when it passes the hard guards against the facts of its own prompt.

The split is by product: a product's every kind is either in training or held out, and the
held-out products (a share of each source plus all of Luma) are written to a CSV that
``copy_evaluate`` reads.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from contentgen.adapters import HOUSE_ADAPTER_DIR
from contentgen.finetuning.data import CopyRecord
from contentgen.specs import KIND_NAMES, get_spec

__all__ = ["HOUSE_ADAPTER_DIR", "build_house_data", "derive_targets", "train_house_adapter"]
HOUSE_SEED = 20261207
DATA_CARD_FILE = "data_card.json"

MYNTRA_FILE = "product_copy/myntra_fashion_copy.csv.gz"
AMAZON_FILE = "amazon_scientific/items.csv"
LUMA_FILE = "product_copy/magento_luma_copy.csv"

# Training examples per kind. Sized so one epoch takes well under an hour on two CPU cores
# (about 220 answer-and-prompt tokens a second with bfloat16 autocast; see the data card).
DEFAULT_QUOTAS: dict[str, int] = {
    "description": 480,
    "bullets": 200,
    "seo_title": 250,
    "seo_description": 250,
    "ad_headline": 250,
    "ad_description": 250,
}
# Share of each kind's quota drawn from the industrial set, so the writer is not fashion-only.
AMAZON_SHARE = 0.35
HELD_OUT_SHARE = 0.04
HELD_OUT_CSV_COLUMNS = ("sku", "title", "brand", "category", "price", "currency")


@dataclass
class SourceProduct:
    """A real product: the facts a prompt may show and the human description (never a fact)."""

    sku: str
    source: str
    facts: dict
    description: str
    group: str  # top-level category, for mixing

    def eval_row(self) -> dict:
        """One row of the held-out CSV (``generate_copy``/``copy_evaluate`` format)."""
        row = {k: self.facts.get(k, "") for k in ("sku", "title", "brand", "category", "price")}
        row["currency"] = self.facts.get("currency", "")
        row.update(self.facts.get("attributes") or {})
        row["description"] = self.description
        return row


@dataclass
class HouseData:
    train: list[CopyRecord]
    held_out: list[SourceProduct]
    counts: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- reading the sources


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").replace("\u00a0", " ")).strip()


def read_product_copy(path: Path, source: str, currency: str) -> list[SourceProduct]:
    """Products of a ``product_copy`` file (Myntra and Luma share its schema: sku, title,
    brand, category, price, attributes_json, description); gzip files are read as such."""
    csv.field_size_limit(10**7)
    out = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            attributes = {
                _clean(k): _clean(v) for k, v in json.loads(row["attributes_json"] or "{}").items()
            }
            # Myntra's age group repeats the gender ("Adults-Women"); a prompt needs it once
            attributes.pop("Age Group", None)
            facts = {
                "sku": row["sku"],
                "title": _clean(row["title"]),
                "brand": _clean(row["brand"]),
                "category": _clean(row["category"]),
                "price": _clean(row["price"]),
                "currency": currency,
                "attributes": {k: v for k, v in attributes.items() if k and v},
            }
            group = facts["category"].split(" > ")[0]
            out.append(SourceProduct(row["sku"], source, facts, _clean(row["description"]), group))
    return out


def read_myntra(path: Path) -> list[SourceProduct]:
    return read_product_copy(path, "myntra", "INR")


def read_amazon(path: Path) -> list[SourceProduct]:
    csv.field_size_limit(10**7)
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            parts = [p.strip() for p in (row["categories"] or "").split(",") if p.strip()]
            title = _clean(row["title"]).rstrip(".")
            facts = {
                "sku": f"amazon-{row['item_id']}",
                "title": title,
                "brand": _clean(row["brand"]),
                "category": " > ".join(parts),
                "attributes": {},
            }
            group = parts[1] if len(parts) > 1 else "Industrial & Scientific"
            out.append(
                SourceProduct(facts["sku"], "amazon", facts, _clean(row["description"]), group)
            )
    return out


def read_luma(path: Path) -> list[SourceProduct]:
    return read_product_copy(path, "luma", "USD")


# --------------------------------------------------------------------------- targets

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
_TERMINAL = (".", "!", "?")
_CLAUSE_BREAKS = (", ", "; ", " - ", " – ", ": ")
MAX_SENTENCE_WORDS = 40


def sentences(text: str) -> list[str]:
    """Whole sentences of ``text``; a last piece without final punctuation is left out."""
    text = text.replace("•", ". ").replace(" . ", ". ")
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    parts = [re.sub(r"^[.\s]+", "", p) for p in parts]
    if parts and not parts[-1].endswith(_TERMINAL):
        parts = parts[:-1]
    return [p for p in parts if p and len(p.split()) >= 2]


# A new sentence glued to the last one without a full stop ("on the tail This belt ..."),
# a common flaw of catalog text that a writer should not learn.
_RUN_ON = re.compile(
    r"\b[a-z]{2,},? (?:This|These|The|It|Its|A|An|Team|Style|Pair|Get|Look|Wear|Give|Made|"
    r"Designed|Crafted|Our|Perfect|Ideal|Comes|Has|Have|Available|Upper|Outsole|Midsole|Sole)\b"
)


def _readable(parts: list[str]) -> bool:
    """Run-on text (sentences glued together, 40+ words without a stop), list markers and
    label fragments make poor targets."""
    return bool(parts) and all(
        len(p.split()) <= MAX_SENTENCE_WORDS
        and not re.match(r"^(?:\d+[.)]|[*•-])\s", p)
        and not _RUN_ON.search(p)
        for p in parts
    )


def _within(parts: list[str], max_chars: int, max_words: int | None = None) -> str:
    out: list[str] = []
    for p in parts:
        candidate = " ".join([*out, p])
        if len(candidate) > max_chars or (max_words and len(candidate.split()) > max_words):
            break
        out.append(p)
    return " ".join(out)


def _cut_at_clause(text: str, max_chars: int, min_chars: int) -> str:
    """``text`` if it fits, else cut at the last clause break that fits (never mid-clause)."""
    text = text.strip().rstrip(".").strip()
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]
    cut = max(head.rfind(b) for b in _CLAUSE_BREAKS)
    if cut < min_chars:
        paren = head.rfind(" (")
        cut = paren if paren >= min_chars else -1
    return text[:cut].rstrip(" ,;:-–") if cut >= min_chars else ""


def _leaf(facts: dict) -> str:
    return (facts.get("category") or "").split(" > ")[-1].strip()


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def _headlines(product: SourceProduct, parts: list[str]) -> list[str]:
    spec = get_spec("ad_headline")
    facts = product.facts
    brand, title, leaf = facts.get("brand", ""), facts.get("title", ""), _leaf(facts)
    attrs = facts.get("attributes") or {}
    candidates = [title]
    if brand and title.lower().startswith(brand.lower()):
        candidates.append(title[len(brand) :].strip(" -,"))
    if brand and leaf:
        candidates.append(f"{brand} {leaf}")
    for key in ("Base Colour", "Usage", "Fabric", "Material", "Pattern", "Fit", "Style"):
        value = attrs.get(key, "")
        if value and leaf and "," not in value:
            candidates.append(f"{value} {leaf}")
    if brand:
        candidates.append(f"Shop {brand}")
    out: list[str] = []
    seen: set[str] = set()
    for c in candidates:
        c = _title_case(_clean(c))
        if (
            c
            and len(c) <= spec.max_chars
            and c.lower() not in seen
            and len(c.split()) >= 2
            and not c[0].isdigit()
        ):
            seen.add(c.lower())
            out.append(c)
    return out[: spec.ask_items]


def derive_targets(product: SourceProduct) -> dict[str, str | list[str]]:
    """A grounded target per kind from the product's own data (kinds with no fitting text are
    left out). See the data card for the rules; every target is still checked by the guards."""
    facts = product.facts
    parts = sentences(product.description)
    out: dict[str, str | list[str]] = {}
    if not _readable(parts):
        parts = []
    d = get_spec("description")
    description = _within(parts, d.max_chars, d.max_words)
    if len(description.split()) >= d.min_words // 2 + 10:
        out["description"] = description
    b = get_spec("bullets")
    bullets = [
        p.rstrip(".")
        for p in parts
        if len(p.split()) >= 4 and len(p) <= b.max_chars and ":" not in p and not p[-1].isdigit()
    ][: b.ask_items]
    if len(bullets) >= b.min_items:
        out["bullets"] = bullets
    t = get_spec("seo_title")
    title = _cut_at_clause(facts.get("title", ""), t.max_chars, t.min_chars)
    brand = facts.get("brand", "")
    if title and brand and brand.lower() not in title.lower():
        with_brand = f"{title} | {brand}"
        title = with_brand if len(with_brand) <= t.max_chars else title
    if title:
        out["seo_title"] = title
    s = get_spec("seo_description")
    meta = _within(parts, s.max_chars)
    if not meta and parts:
        cut = _cut_at_clause(parts[0], s.max_chars - 1, s.min_chars)
        meta = f"{cut}." if cut else ""
    if len(meta) >= s.min_chars:
        out["seo_description"] = meta
    headlines = _headlines(product, parts)
    if len(headlines) >= get_spec("ad_headline").min_items:
        out["ad_headline"] = headlines
    a = get_spec("ad_description")
    ads = [p for p in parts if len(p) <= a.max_chars and len(p.split()) >= 5][: a.ask_items]
    if len(ads) < a.min_items:
        for p in parts:
            cut = _cut_at_clause(p, a.max_chars - 1, 30)
            if cut and f"{cut}." not in ads and len(cut.split()) >= 5:
                ads.append(f"{cut}.")
            if len(ads) >= a.ask_items:
                break
    if len(ads) >= a.min_items:
        out["ad_description"] = ads
    return out


# --------------------------------------------------------------------------- building the set


def read_sources(data_dir: Path) -> dict[str, list[SourceProduct]]:
    """Every source's products; raises FileNotFoundError naming a missing file."""
    files = {"myntra": MYNTRA_FILE, "amazon": AMAZON_FILE, "luma": LUMA_FILE}
    readers = {"myntra": read_myntra, "amazon": read_amazon, "luma": read_luma}
    out = {}
    for name, rel in files.items():
        path = Path(data_dir) / rel
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the house adapter is built from it.")
        out[name] = readers[name](path)
    return out


def split_products(
    sources: dict[str, list[SourceProduct]], seed: int = HOUSE_SEED
) -> tuple[dict[str, list[SourceProduct]], list[SourceProduct]]:
    """(training pool per source, held-out products): a fixed share of each source, all of Luma."""
    rng = random.Random(seed)
    pools: dict[str, list[SourceProduct]] = {}
    held_out: list[SourceProduct] = list(sources.get("luma", []))
    for name in ("myntra", "amazon"):
        items = sorted(sources.get(name, []), key=lambda p: p.sku)
        rng.shuffle(items)
        n = max(1, int(len(items) * HELD_OUT_SHARE))
        held_out.extend(items[:n])
        pools[name] = items[n:]
    return pools, held_out


def candidate_records(
    pools: dict[str, list[SourceProduct]],
    quotas: dict[str, int] | None = None,
    *,
    seed: int = HOUSE_SEED,
    hard_check=None,
) -> tuple[list[CopyRecord], dict]:
    """Records up to each kind's quota, mixing sources and categories, with counts of what
    each filter dropped. ``hard_check(kind, value, facts, voice) -> reasons`` is the guard
    filter (``contentgen.finetuning.data.guard_hard_check``)."""
    quotas = dict(quotas or DEFAULT_QUOTAS)
    rng = random.Random(seed + 1)
    counts: dict = {
        "products_read": {k: len(v) for k, v in pools.items()},
        "no_target": Counter(),
        "failed_guards": Counter(),
        "failed_guard_codes": Counter(),
        "kept": Counter(),
        "kept_by_source": Counter(),
        "kept_by_group": Counter(),
    }
    # round-robin over categories within a source, so no category crowds out the rest
    ordered: dict[str, list[SourceProduct]] = {}
    for name, items in pools.items():
        by_group: dict[str, list[SourceProduct]] = {}
        for p in items:
            by_group.setdefault(p.group, []).append(p)
        lanes = [by_group[g] for g in sorted(by_group)]
        for lane in lanes:
            rng.shuffle(lane)
        mixed: list[SourceProduct] = []
        while any(lanes):
            for lane in lanes:
                if lane:
                    mixed.append(lane.pop())
        ordered[name] = mixed
    records: list[CopyRecord] = []
    used_products: set[str] = set()
    for kind in KIND_NAMES:
        want = quotas.get(kind, 0)
        share = {"amazon": round(want * AMAZON_SHARE)}
        share["myntra"] = want - share["amazon"]
        for name in ("amazon", "myntra"):
            need = share[name]
            for product in ordered.get(name, []):
                if need <= 0:
                    break
                # one kind per product first, so more products are seen; reuse only if short
                if (product.sku, kind) in used_products:
                    continue
                target = derive_targets(product).get(kind)
                if target is None:
                    counts["no_target"][kind] += 1
                    continue
                if hard_check is not None:
                    reasons = hard_check(kind, target, product.facts, None)
                    if reasons:
                        counts["failed_guards"][kind] += 1
                        for code in reasons:
                            counts["failed_guard_codes"][code] += 1
                        continue
                used_products.add((product.sku, kind))
                records.append(
                    CopyRecord(
                        facts=product.facts,
                        kind=kind,
                        value=target,
                        source=f"house:{name}",
                        ref=product.sku,
                    )
                )
                counts["kept"][kind] += 1
                counts["kept_by_source"][name] += 1
                counts["kept_by_group"][f"{name}: {product.group}"] += 1
                need -= 1
    rng.shuffle(records)
    return records, {k: (dict(v) if isinstance(v, Counter) else v) for k, v in counts.items()}


def hard_guard_codes(kind: str, value, facts: dict, voice=None) -> list[str]:
    """The codes of the hard guards ``value`` fails against ``facts`` (the house filter)."""
    from contentgen.guards import HARD, check_copy

    result = check_copy(kind, value, facts, voice)
    return sorted({f.code for f in result.flags if f.severity == HARD})


def build_house_data(
    data_dir: Path, *, seed: int = HOUSE_SEED, quotas: dict[str, int] | None = None
) -> HouseData:
    sources = read_sources(Path(data_dir))
    pools, held_out = split_products(sources, seed)
    records, counts = candidate_records(pools, quotas, seed=seed, hard_check=hard_guard_codes)
    counts["held_out_products"] = dict(Counter(p.source for p in held_out))
    return HouseData(train=records, held_out=held_out, counts=counts)


def write_held_out_csv(products: list[SourceProduct], path: Path) -> int:
    """The held-out products as a products CSV (attributes as extra columns), for
    ``copy_evaluate --products``; returns the number of rows. Sources alternate row by row,
    so the first N rows (``--limit N``) mix fashion, industrial and sportswear products."""
    lanes: dict[str, list[SourceProduct]] = {}
    for p in products:
        lanes.setdefault(p.source, []).append(p)
    mixed: list[SourceProduct] = []
    queues = [lanes[k] for k in sorted(lanes)]
    while any(queues):
        for queue in queues:
            if queue:
                mixed.append(queue.pop(0))
    rows = [p.eval_row() for p in mixed]
    columns: list[str] = list(HELD_OUT_CSV_COLUMNS)
    for row in rows:
        for key in row:
            if key not in columns and key != "description":
                columns.append(key)
    columns.append("description")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# --------------------------------------------------------------------------- training

HOUSE_SETTINGS = {
    "rank": 8,
    "alpha": 16,
    "dropout": 0.05,
    "learning_rate": 3e-4,
    "epochs": 1.0,
    "batch_size": 8,
    "max_length": 768,
    "warmup_ratio": 0.03,
    "checkpoint_every": 25,
    "seed": HOUSE_SEED,
}
HELD_OUT_LOSS_EXAMPLES = 96


def held_out_records(products: list[SourceProduct], *, seed: int = HOUSE_SEED) -> list[CopyRecord]:
    """Guard-clean targets of held-out products (every kind), for the held-out loss."""
    records = []
    for product in products:
        for kind, target in derive_targets(product).items():
            if not hard_guard_codes(kind, target, product.facts):
                records.append(
                    CopyRecord(
                        product.facts, kind, target, f"held-out:{product.source}", product.sku
                    )
                )
    random.Random(seed + 2).shuffle(records)
    return records


def _shrink_weights(adapter_dir: Path) -> None:
    """Store the adapter's weights in bfloat16 (half the size; they load into float32 or
    bfloat16 models alike)."""
    import torch
    from safetensors.torch import load_file, save_file

    path = adapter_dir / "adapter_model.safetensors"
    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in load_file(str(path)).items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def train_house_adapter(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = HOUSE_SEED,
    quotas: dict[str, int] | None = None,
    max_steps: int | None = None,
    held_out_csv: Path | None = None,
    model: str | None = None,
    progress=None,
    say=print,
) -> dict:
    """Build the data, train the house adapter into ``out_dir`` and write its data card.

    Returns the data card (also written as ``data_card.json`` beside the adapter).
    """
    import platform
    import time

    import torch

    from contentgen.finetuning import data as D
    from contentgen.finetuning import training as T
    from contentgen.prompts import PROMPT_VERSION

    started = time.monotonic()
    say(f"Reading the sources in {data_dir}")
    built = build_house_data(Path(data_dir), seed=seed, quotas=quotas)
    if held_out_csv is not None:
        n = write_held_out_csv(built.held_out, Path(held_out_csv))
        say(f"Wrote {n} held-out products to {held_out_csv}")
    say(f"Loading base model {model or T.DEFAULT_MODEL_LABEL}")
    lm, tokenizer, label = T.load_base(model)
    T.ensure_pad_token(tokenizer)
    settings = T.LoraSettings.from_dict({**HOUSE_SETTINGS, "seed": seed, "max_steps": max_steps})
    prepared = D.prepare_examples(
        built.train, tokenizer, max_length=settings.max_length, hard_check=D.guard_hard_check
    )
    held = D.prepare_examples(
        held_out_records(built.held_out, seed=seed)[: HELD_OUT_LOSS_EXAMPLES * 2],
        tokenizer,
        max_length=settings.max_length,
        hard_check=None,
    ).examples[:HELD_OUT_LOSS_EXAMPLES]
    answer_tokens = sum(len(tokenizer(e.answer)["input_ids"]) for e in prepared.examples)
    say(
        f"Training on {len(prepared.examples)} examples ({answer_tokens} answer tokens), "
        f"{len(held)} held-out examples for the loss"
    )
    result = T.finetune(
        model=lm,
        tokenizer=tokenizer,
        train=prepared.examples,
        eval_examples=held,
        out_dir=out_dir,
        settings=settings,
        base_label=label,
        progress=progress,
        evaluate_generation=False,
        extra_meta={"prompt_version": PROMPT_VERSION, "house": True},
    )
    _shrink_weights(Path(out_dir))
    card = {
        "name": "house",
        "base_model": label,
        "prompt_version": PROMPT_VERSION,
        "seed": seed,
        "sources": {
            "myntra": MYNTRA_FILE,
            "amazon": AMAZON_FILE,
            "luma": f"{LUMA_FILE} (held out only)",
        },
        "counts": built.counts,
        "prepared_left_out": prepared.counts,
        "train_examples": len(prepared.examples),
        "per_kind": prepared.per_kind,
        "held_out_loss_examples": len(held),
        "settings": settings.to_dict(),
        "held_out_loss": {"base": result.base, "house": result.adapter},
        "train_loss": {"first_step": result.first_loss, "last_epoch": result.train_loss},
        "steps": result.steps,
        "train_tokens": result.train_tokens,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "seconds": round(time.monotonic() - started, 1),
        "device": result.device,
        "cpu_bf16_autocast": result.device == "cpu" and T.cpu_bf16_autocast(),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "built": time.strftime("%Y-%m-%d"),
    }
    (Path(out_dir) / DATA_CARD_FILE).write_text(json.dumps(card, indent=2, default=str) + "\n")
    return card
