"""Copy evaluation: how good generated copy is against its facts and a human reference (pure).

No Django import: ``copy_evaluate`` and ``benchmarks/bench_copy_quality.py`` share it.
Per kind, over the products of a run:

- **guard pass rate**: variants with no hard flag, of all variants;
- **products with a passing variant**: what a reviewer can approve without editing;
- **claim precision**: in passing variants, the share of claims (numbers, and materials from
  the guards' vocabulary) whose value or term is in the product's facts; ``invented`` counts
  the rest, listed;
- **fact coverage**: the mean share of a product's key facts its first variant mentions;
- **chrF** (character n-gram F-score; Popović, 2015, "chrF: character n-gram F-score for
  automatic MT evaluation", WMT) of descriptions against the human description, computed by
  ``sacrebleu`` (the reference implementation of the field);
- **products per minute**: wall time of the kind's generation, model loading excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from contentgen.guards import (
    MATERIAL_GROUPS,
    extract_numbers,
    facts_corpus,
    phrase_in,
    same_value,
)

__all__ = ["claims", "KindReport", "chrf"]


def claims(text: str, facts: dict) -> tuple[list[str], list[str]]:
    """``(supported, invented)`` claims of ``text``: its numbers (as values) and its material
    terms, each either found in the facts or not."""
    corpus = facts_corpus(facts)
    values = [n.value for n in extract_numbers(corpus)]
    supported: list[str] = []
    invented: list[str] = []
    for n in extract_numbers(text):
        found = any(same_value(n.value, v) for v in values)
        (supported if found else invented).append(n.text)
    lowered = text.lower()
    for group in MATERIAL_GROUPS:
        for term in group:
            if re.search(r"(?<!\w)" + re.escape(term) + r"(?!\w)", lowered):
                ok = any(phrase_in(corpus, t) for t in group)
                (supported if ok else invented).append(term)
                lowered = re.sub(r"(?<!\w)" + re.escape(term) + r"(?!\w)", " ", lowered)
                break
    return supported, invented


def chrf(hypotheses: list[str], references: list[str]) -> float | None:
    """Corpus chrF (0-100) of ``hypotheses`` against ``references`` (sacrebleu)."""
    pairs = [(h, r) for h, r in zip(hypotheses, references, strict=True) if r]
    if not pairs:
        return None
    from sacrebleu.metrics import CHRF

    score = CHRF().corpus_score([h for h, _ in pairs], [[r for _, r in pairs]])
    return round(float(score.score), 2)


@dataclass
class KindReport:
    kind: str
    products: int = 0
    variants: int = 0
    variants_passed: int = 0
    products_passing: int = 0
    claims_supported: int = 0
    claims_invented: int = 0
    invented_examples: list[str] = field(default_factory=list)
    coverage_sum: float = 0.0
    seconds: float = 0.0
    hypotheses: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def add(self, result, facts: dict, reference: str = "") -> None:
        self.products += 1
        self.variants += len(result.variants)
        passing = [v for v in result.variants if v.passed]
        self.variants_passed += len(passing)
        self.products_passing += 1 if passing else 0
        for v in passing:
            text = v.text if isinstance(v.text, str) else "\n".join(v.text)
            supported, invented = claims(text, facts)
            self.claims_supported += len(supported)
            self.claims_invented += len(invented)
            if invented and len(self.invented_examples) < 10:
                self.invented_examples.append(f"{result.key}: {', '.join(invented)}")
        if result.variants:
            first = result.variants[0]
            self.coverage_sum += first.coverage
            text = first.text if isinstance(first.text, str) else "\n".join(first.text)
            self.hypotheses.append(text)
            self.references.append(reference)

    def summary(self) -> dict:
        claims_total = self.claims_supported + self.claims_invented
        return {
            "kind": self.kind,
            "products": self.products,
            "variants": self.variants,
            "guard_pass_rate": round(self.variants_passed / self.variants, 3)
            if self.variants
            else None,
            "products_with_passing_variant": round(self.products_passing / self.products, 3)
            if self.products
            else None,
            "claim_precision": round(self.claims_supported / claims_total, 3)
            if claims_total
            else None,
            "invented_claims_in_passing": self.claims_invented,
            "invented_examples": self.invented_examples,
            "mean_fact_coverage": round(self.coverage_sum / self.products, 3)
            if self.products
            else None,
            "chrf": chrf(self.hypotheses, self.references) if self.kind == "description" else None,
            "seconds": round(self.seconds, 1),
            "products_per_minute": round(self.products / self.seconds * 60, 2)
            if self.seconds
            else None,
        }
