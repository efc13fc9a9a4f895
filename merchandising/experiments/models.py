"""A/B tests: experiments, their variants, who was exposed to what, and daily roll-ups."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from merchandising.catalog.models import COPY_FIELDS

from .assignment import MAX_VISITOR_ID_LENGTH, WEIGHT_TOLERANCE

experiment_key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", "Lower-case letters, digits, dashes and underscores."
)


class Experiment(models.Model):
    class Kind(models.TextChoices):
        COPY = "copy", "Copy: live copy against alternative texts"
        PLACEMENT = "placement", "Placement: one strategy against another"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="experiments"
    )
    key = models.CharField(max_length=60, validators=[experiment_key_validator])
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # copy experiments: one copy field of a set of products
    field = models.CharField(max_length=32, choices=[(f, f) for f in COPY_FIELDS], blank=True)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="experiments")
    # "" = all shoppers; a segment key (see contentgen.CopyDraft.segment) when the treatment is
    # copy written for one shopper segment: only that segment's members are then in the test.
    segment = models.CharField(max_length=100, blank=True, default="")
    # placement experiments: one placement, variants carry strategy settings
    placement = models.ForeignKey(
        "storefront.Placement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="experiments",
    )
    traffic_share = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of visitors in the test (0-1); the rest see the live version.",
    )  # fmt: skip
    attribution_window_hours = models.PositiveIntegerField(
        default=72, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="A purchase counts for the variant if it happens this long after the first exposure.",
    )  # fmt: skip
    planned_sample_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Visitors per variant; empty: computed from baseline and MDE.",
    )
    minimum_detectable_effect = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(10.0)],
        help_text="Relative lift the test should be able to detect (0.05 = 5%).",
    )  # fmt: skip
    sequential = models.BooleanField(
        default=True,
        help_text="Always-valid inference (mSPRT): safe to look at the results every day.",
    )
    guardrails = models.JSONField(
        default=list,
        blank=True,
        help_text='Metrics that must not get worse, e.g. ["add_to_cart_rate"].',
    )
    # Hash seed: the key, plus a run number after a restart, so a restart re-randomises.
    run = models.PositiveIntegerField(default=1)
    winner = models.CharField(max_length=60, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    rolled_up_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    GUARDRAIL_METRICS = ("add_to_cart_rate", "click_rate", "revenue_per_visitor")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="experiment_unique_key")
        ]
        indexes = [models.Index(fields=["merchant", "status"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_status_display()})"

    @property
    def seed(self) -> str:
        return self.key if self.run == 1 else f"{self.key}#run{self.run}"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.kind == self.Kind.COPY:
            if not self.field:
                errors.setdefault("field", []).append("A copy experiment tests one copy field.")
            if self.placement_id:
                errors.setdefault("placement", []).append("A copy experiment has no placement.")
        elif self.kind == self.Kind.PLACEMENT:
            if not self.placement_id:
                errors.setdefault("placement", []).append(
                    "A placement experiment needs a placement."
                )
            elif self.placement.merchant_id != self.merchant_id:
                errors.setdefault("placement", []).append("Unknown placement.")
        if self.segment and self.kind != self.Kind.COPY:
            errors.setdefault("segment", []).append("Only copy experiments target a segment.")
        if not isinstance(self.guardrails, list) or any(
            g not in self.GUARDRAIL_METRICS for g in self.guardrails
        ):
            errors.setdefault("guardrails", []).append(
                f"A list of: {', '.join(self.GUARDRAIL_METRICS)}."
            )
        if errors:
            raise ValidationError(errors)


class Variant(models.Model):
    """One arm. `payload` for copy tests: {"copy": {"<product id>": value}, "drafts": {...}}
    (a product missing from "copy" shows its live copy); for placement tests: placement settings
    to override, e.g. {"strategy": "popularity"}. The control usually has an empty payload."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    is_control = models.BooleanField(default=False)
    weight = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["experiment_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


def weights_check(weights: list[float]) -> None:
    if abs(sum(weights) - 1.0) > WEIGHT_TOLERANCE:
        raise ValidationError(
            {"weights": f"Variant weights must sum to 1 (they sum to {sum(weights):.4g})."}
        )


class Exposure(models.Model):
    """The first time a visitor saw a variant of an experiment (one row per experiment and visitor)."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="exposures")
    visitor_id = models.CharField(max_length=MAX_VISITOR_ID_LENGTH)
    first_seen = models.DateTimeField()
    # Set by the roll-up: the visitor converted within the attribution window. Lets the report
    # break results down by the visitors' current segments without scanning raw events.
    converted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "visitor_id"], name="exposure_unique_visitor"
            )
        ]
        indexes = [models.Index(fields=["experiment", "first_seen"])]


class VariantDay(models.Model):
    """Daily roll-up: visitors first exposed on `day` (a cohort) and what they did within the
    attribution window. Reports sum these rows instead of scanning raw events."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="days")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    exposures = models.PositiveIntegerField(default=0)
    converters = models.PositiveIntegerField(default=0)
    add_to_cart = models.PositiveIntegerField(default=0, help_text="Visitors who added to cart.")
    clickers = models.PositiveIntegerField(
        default=0, help_text="Visitors who clicked a recommendation."
    )
    revenue_sum = models.FloatField(default=0.0)
    revenue_sumsq = models.FloatField(
        default=0.0, help_text="Sum over visitors of revenue squared."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["experiment_id", "day", "variant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "variant", "day"], name="variantday_unique"
            )
        ]
