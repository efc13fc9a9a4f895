"""Placements: the named slots on a shop's pages that show recommendations."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from recsys.ranking import Diversity, Filters, RankingConfigError, Rules

placement_key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", "Lower-case letters, digits, dashes and underscores."
)

MAX_LIMIT = 50


class Placement(models.Model):
    """One slot: which strategy fills it, with which filters, rules and diversity.

    `filters`, `rules` and `diversity` are JSON in the formats that `recsys.ranking.Filters`,
    `Rules` and `Diversity` parse (and validate in `clean`). `fixed_skus` is the hand-picked
    list used by the "fixed" strategy (as primary or as fallback).
    """

    class Strategy(models.TextChoices):
        LIGHTFM = "lightfm", "LightFM model: personal (profile, features and this session)"
        SIMILAR = "similar", "LightFM model: similar to the current product"
        BOUGHT_TOGETHER = (
            "bought_together",
            "Bought together: products often bought with the product on screen or the cart",
        )
        NEXT_ITEMS = (
            "next_items",
            "Next in the session: what shoppers go on to after this session's products",
        )
        BLEND = (
            "blend",
            "Blend: all models combined with weights fitted on your shop's data "
            "(or the best single model where the blend does not beat it)",
        )
        POPULARITY = "popularity", "Most popular"
        NEWEST = "newest", "Newest"
        FIXED = "fixed", "Fixed list"

    class Fallback(models.TextChoices):
        POPULARITY = "popularity", "Most popular"
        NEWEST = "newest", "Newest"
        FIXED = "fixed", "Fixed list"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="placements"
    )
    key = models.CharField(
        max_length=60,
        validators=[placement_key_validator],
        help_text='Used in the widget: data-merchlab-placement="home".',
    )
    name = models.CharField(max_length=120)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.LIGHTFM)
    fallback_strategy = models.CharField(
        max_length=16,
        choices=Fallback.choices,
        default=Fallback.POPULARITY,
        help_text="Used when there is no model yet, and to fill slots the strategy leaves empty.",
    )
    fixed_skus = models.JSONField(default=list, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=list, blank=True)
    diversity = models.JSONField(default=dict, blank=True)
    limit = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(MAX_LIMIT)]
    )
    # Targeting: {segment key: strategy}. A visitor in one of these shopper segments is served
    # with that strategy instead of `strategy` (the first of their segments listed here wins).
    segment_strategies = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="placement_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.name})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for name, parser in (
            ("filters", Filters.from_json),
            ("rules", Rules.from_json),
            ("diversity", Diversity.from_json),
        ):
            try:
                parser(getattr(self, name))
            except RankingConfigError as exc:
                errors.setdefault(name, []).append(str(exc))
        targeting = self.segment_strategies
        if not isinstance(targeting, dict):
            errors.setdefault("segment_strategies", []).append(
                'An object of segment id to strategy, e.g. {"12": "popularity"}.'
            )
        elif len(targeting) > self.MAX_TARGETED_SEGMENTS:
            errors.setdefault("segment_strategies", []).append(
                f"At most {self.MAX_TARGETED_SEGMENTS} segments."
            )
        else:
            for segment, strategy in targeting.items():
                if not (isinstance(segment, str) and segment.isdigit() and len(segment) <= 20):
                    errors.setdefault("segment_strategies", []).append(
                        f"{str(segment)[:40]!r} is not a segment id."
                    )
                elif strategy not in self.Strategy.values:
                    errors.setdefault("segment_strategies", []).append(
                        f"Segment {segment}: unknown strategy {str(strategy)[:40]!r}; one of "
                        + ", ".join(self.Strategy.values)
                        + "."
                    )
        skus = self.fixed_skus
        if not isinstance(skus, list) or not all(isinstance(s, str) and s.strip() for s in skus):
            errors.setdefault("fixed_skus", []).append("A list of SKUs.")
        elif len(skus) > 200:
            errors.setdefault("fixed_skus", []).append("At most 200 SKUs.")
        elif (self.FIXED_NEEDED & {self.strategy, self.fallback_strategy, *self._targeted()}) and (
            not skus
        ):
            errors.setdefault("fixed_skus", []).append(
                "The fixed-list strategy needs at least one SKU."
            )
        if errors:
            raise ValidationError(errors)

    FIXED_NEEDED = frozenset({"fixed"})
    MAX_TARGETED_SEGMENTS = 50

    def _targeted(self) -> set:
        targeting = self.segment_strategies
        return {str(v) for v in targeting.values()} if isinstance(targeting, dict) else set()

    def strategy_for(self, segment_keys) -> str:
        """The strategy for a visitor in these segments (keys, in the visitor's order)."""
        targeting = self.segment_strategies or {}
        for key in segment_keys:
            if key in targeting:
                return targeting[key]
        return self.strategy

    # Parsed settings (validated by clean on every write).
    def parsed_filters(self) -> Filters:
        return Filters.from_json(self.filters)

    def parsed_rules(self) -> Rules:
        return Rules.from_json(self.rules)

    def parsed_diversity(self) -> Diversity:
        return Diversity.from_json(self.diversity)
