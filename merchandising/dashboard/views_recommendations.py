"""Dashboard: Recommendations. Placements (list, edit with a live preview), model versions with
their metrics against the popularity baseline, and the per-placement report."""

from __future__ import annotations

import dataclasses
import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from merchandising import inputs
from merchandising.accounts import selectors as accounts
from merchandising.accounts.models import ApiKey
from merchandising.accounts.services import api_key_create
from merchandising.parsers import json_max_depth
from merchandising.storefront import selectors as placements
from merchandising.storefront import services as placement_services
from merchandising.storefront.models import Placement
from recsys import selectors as recsys_selectors
from recsys import serving
from recsys.models import ModelVersion
from recsys.ranking import RULE_FIELDS

from .base import MerchantPageMixin
from .summaries import model_blend, model_counts, model_quality

REPORT_DAYS = (1, 7, 30, 90)


class Page(MerchantPageMixin, TemplateView):
    nav = "recommendations"


class PlacementForm(forms.Form):
    key = forms.CharField(
        max_length=60, help_text='Used in the widget: data-merchlab-placement="key".'
    )
    name = forms.CharField(max_length=120)
    strategy = forms.ChoiceField(choices=Placement.Strategy.choices)
    fallback_strategy = forms.ChoiceField(
        choices=Placement.Fallback.choices,
        help_text="Answers before any model exists, and fills slots the strategy leaves empty.",
    )
    limit = forms.IntegerField(min_value=1, max_value=50, initial=8)
    fixed_skus = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For the fixed list: SKUs separated by commas or new lines.",
    )
    filters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='JSON, e.g. {"in_stock": true, "categories": ["Kitchen"], "price_max": 100, '
        '"exclude_purchased": true, "exclude_anchor_category": false}',
    )
    rules = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='JSON list, e.g. [{"action": "pin", "sku": "A1", "position": 1}, '
        '{"action": "boost", "field": "brand", "value": "Acme", "weight": 1}, '
        '{"action": "bury", "field": "tag", "value": "clearance"}]',
    )
    diversity = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='JSON, e.g. {"max_per_category": 2, "category_level": 1} or {"mmr_lambda": 0.7}',
    )
    segment_strategies = forms.CharField(
        required=False,
        label="Strategy per shopper segment",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='JSON, segment id to strategy, e.g. {"12": "popularity"}: members of segment 12 '
        "get the most popular products, everyone else the strategy above.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    JSON_FIELDS = {"filters": dict, "rules": list, "diversity": dict, "segment_strategies": dict}

    @classmethod
    def initial_for(cls, placement: Placement) -> dict:
        return {
            "key": placement.key,
            "name": placement.name,
            "strategy": placement.strategy,
            "fallback_strategy": placement.fallback_strategy,
            "limit": placement.limit,
            "fixed_skus": "\n".join(placement.fixed_skus or []),
            "filters": json.dumps(placement.filters or {}),
            "rules": json.dumps(placement.rules or []),
            "diversity": json.dumps(placement.diversity or {}),
            "segment_strategies": json.dumps(placement.segment_strategies or {}),
            "enabled": placement.enabled,
        }

    def clean_fixed_skus(self) -> list[str]:
        raw = self.cleaned_data.get("fixed_skus") or ""
        return [s.strip() for s in raw.replace(",", "\n").splitlines() if s.strip()]

    def _json(self, name: str):
        raw = (self.cleaned_data.get(name) or "").strip()
        kind = self.JSON_FIELDS[name]
        if not raw:
            return kind()
        try:
            value = inputs.json_loads(raw, max_depth=json_max_depth())
        except inputs.JSONRefused as exc:
            message = exc.problem.message if exc.problem else str(exc)
            raise ValidationError(message[0].upper() + message[1:]) from None
        if not isinstance(value, kind):
            raise ValidationError("Must be a JSON " + ("object." if kind is dict else "list."))
        return value

    def clean_filters(self):
        return self._json("filters")

    def clean_rules(self):
        return self._json("rules")

    def clean_diversity(self):
        return self._json("diversity")

    def clean_segment_strategies(self):
        return self._json("segment_strategies")

    def placement_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("key", None)
        data.pop("name", None)
        return data


def _name_segments(merchant, form: forms.Form) -> list[tuple[int, str]]:
    """List the active segments and their ids under the targeting field; returns them as
    (id, name) for the form's per-segment controls."""
    try:
        from recsys.segments.selectors import segments_list
    except ImportError:  # segments app not installed
        return []
    active = [(s.pk, s.name) for s in segments_list(merchant)[:30]]
    names = [f"{pk}: {name}" for pk, name in active]
    field = form.fields["segment_strategies"]
    field.help_text = PlacementForm.base_fields["segment_strategies"].help_text + (
        " Segments: " + "; ".join(names) + "." if names else " No segments yet."
    )
    return active


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class RecommendationsView(Page):
    """Placements and the active model at a glance."""

    template_name = "dashboard/recommendations/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        context.update(
            placements=placements.placements_list(merchant),
            active_model=ModelVersion.objects.filter(merchant=merchant, is_active=True).first(),
            versions_count=ModelVersion.objects.filter(merchant=merchant).count(),
        )
        return context


WIDGET_KEY_NAME = "Widget"


class WidgetView(Page):
    """The embed snippet with the merchant's real publishable key, a copy button, and a check of
    whether an origin may call the storefront API. A GET never writes: without a readable
    publishable key, owners get a button that creates one (POST)."""

    template_name = "dashboard/recommendations/widget.html"
    write_role = "owner"

    def post(self, request, *args, **kwargs):
        api_key_create(
            merchant=request.merchant,
            name=WIDGET_KEY_NAME,
            kind=ApiKey.Kind.PUBLISHABLE,
            created_by=request.user,
        )
        messages.success(request, "Created a publishable key for the widget.")
        return redirect("dashboard:widget", merchant_slug=request.merchant.slug)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        key = accounts.publishable_key_for_embed(merchant)
        enabled = [p.key for p in placements.placements_list(merchant) if p.enabled]
        placement = "home" if "home" in enabled or not enabled else enabled[0]
        origin = self.request.GET.get("origin", "").strip()
        origin_result = None
        if origin:
            try:
                normalized, allowed = accounts.storefront_origin_check(merchant, origin)
                origin_result = {"origin": normalized, "allowed": allowed}
            except ValidationError as exc:
                origin_result = {"origin": origin, "error": exc.messages[0]}
        context.update(
            key=key,
            hashed_only=key is None and accounts.publishable_keys_live(merchant).exists(),
            api_origin=f"{self.request.scheme}://{self.request.get_host()}",
            placement=placement,
            other_placements=[k for k in enabled if k != placement],
            origin=origin,
            origin_result=origin_result,
            storefront_origins=merchant.storefront_origins or [],
        )
        return context


class PlacementEditView(Page):
    """Create (no placement_id) or edit a placement, with a live preview for a chosen visitor."""

    template_name = "dashboard/recommendations/placement_form.html"

    def placement(self) -> Placement | None:
        pid = self.kwargs.get("placement_id")
        if pid is None:
            return None
        try:
            return placements.placement_get_by_id(self.request.merchant, pid)
        except Placement.DoesNotExist:
            raise Http404("No such placement.") from None

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        placement = self.placement()
        if form is None:
            initial = (
                PlacementForm.initial_for(placement) if placement else {"enabled": True, "limit": 8}
            )
            form = PlacementForm(initial=initial)
        if placement is not None:
            form.fields["key"].disabled = True
        segments = _name_segments(self.request.merchant, form)
        context.update(
            placement=placement,
            form=form,
            builder={
                "segments": segments,
                "strategies": list(Placement.Strategy.choices),
                "rule_fields": list(RULE_FIELDS),
            },
        )
        return context

    def post(self, request, *args, **kwargs):
        placement = self.placement()
        data = request.POST.copy()
        if placement is not None:
            data["key"] = placement.key
        form = PlacementForm(data)
        if placement is not None:
            form.fields["key"].disabled = True
            form.initial["key"] = placement.key
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            if placement is None:
                placement = placement_services.placement_create(
                    merchant=request.merchant,
                    key=form.cleaned_data["key"],
                    name=form.cleaned_data["name"],
                    **form.placement_fields(),
                )
            else:
                placement = placement_services.placement_update(
                    placement=placement, name=form.cleaned_data["name"], **form.placement_fields()
                )
        except ValidationError as exc:
            _apply_errors(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"Saved placement {placement.key}.")
        return redirect(
            "dashboard:placement", merchant_slug=request.merchant.slug, placement_id=placement.pk
        )


class PlacementPreviewView(Page):
    """htmx fragment: what the placement's settings in the form (saved or not) would show a
    chosen visitor, optionally on a product page (sku)."""

    template_name = "dashboard/recommendations/_preview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        data = request.GET.copy()
        if not data.get("key"):
            data["key"] = "preview"
        form = PlacementForm(data)
        visitor_id = (request.GET.get("preview_visitor") or "").strip()[:200] or "dashboard-preview"
        sku = (request.GET.get("preview_sku") or "").strip()[:64] or None
        error = None
        served = None
        if not form.is_valid():
            error = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        else:
            fields = form.placement_fields()
            candidate = Placement(
                merchant=request.merchant, key=data["key"], name=form.cleaned_data["name"], **fields
            )
            try:
                candidate.clean()
                spec = serving.PlacementSpec.from_placement(candidate)
                if candidate.segment_strategies:  # as the storefront serves this visitor
                    keys = placements.visitor_segment_keys(request.merchant, visitor_id)
                    spec = dataclasses.replace(spec, strategy=candidate.strategy_for(keys))
                served = serving.recommend(
                    merchant=request.merchant, spec=spec, visitor_id=visitor_id, sku=sku
                )
            except ValidationError as exc:
                error = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        context.update(
            served=served,
            error=error,
            visitor_id=visitor_id,
            sku=sku,
            active_model=recsys_selectors.active_model_version(request.merchant),
        )
        return context


class ModelVersionsView(Page):
    """Trained versions, full and incremental, with their hold-out check against best-sellers
    in numbers and in words."""

    template_name = "dashboard/recommendations/models.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        versions = recsys_selectors.model_versions(self.request.merchant).select_related("parent")[
            :50
        ]
        context["rows"] = [
            {
                "v": v,
                "quality": model_quality(v),
                "counts": model_counts(v),
                "blend": model_blend(v),
            }
            for v in versions
        ]
        return context


class PlacementReportView(Page):
    """Per-placement impressions, clicks, CTR, add-to-cart and purchases attributed by request id,
    and the top products of each placement."""

    template_name = "dashboard/recommendations/report.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            days = int(self.request.GET.get("days", 7))
        except ValueError:
            days = 7
        if days not in REPORT_DAYS:
            days = 7
        figures = placements.placement_report_figures(
            self.request.merchant,
            days=days,
            per_placement=10,
            refresh=self.request.GET.get("refresh") == "1",
        )
        context.update(
            days=days,
            day_choices=REPORT_DAYS,
            report=figures["report"],
            top=figures["top"],
            computed_at=figures["computed_at"],
        )
        return context
