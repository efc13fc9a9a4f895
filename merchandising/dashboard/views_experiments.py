"""Dashboard pages for A/B tests: list, create, report with lifecycle buttons, daily CSV."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.safestring import mark_safe
from django.views import View

from merchandising.catalog.models import COPY_FIELDS, Product
from merchandising.experiments import charts, selectors, services, stats
from merchandising.experiments.api import daily_csv
from merchandising.experiments.models import Experiment
from merchandising.inputs import DB_INT_MAX
from merchandising.storefront.models import Placement

from .base import MerchantPageMixin
from .summaries import placement_settings_in_words
from .views import Page


class ExperimentForm(forms.Form):
    kind = forms.ChoiceField(choices=Experiment.Kind.choices)
    key = forms.SlugField(
        max_length=60, help_text="Short id used in the hash, e.g. desc-short-2024"
    )
    name = forms.CharField(max_length=200)
    hypothesis = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    field = forms.ChoiceField(choices=[("", "-")] + [(f, f) for f in COPY_FIELDS], required=False)
    alternative_copy = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        label="Variant B copy",
        help_text="One line per product: SKU | alternative text (approved copy). Control A shows the live copy.",
    )
    placement = forms.ModelChoiceField(queryset=Placement.objects.none(), required=False)
    strategy = forms.ChoiceField(
        choices=Placement.Strategy.choices, required=False, label="Variant B strategy"
    )
    weight_b = forms.FloatField(
        min_value=0.01, max_value=0.99, initial=0.5, label="Share of variant B"
    )
    traffic_share = forms.FloatField(min_value=0.0, max_value=1.0, initial=1.0)
    attribution_window_hours = forms.IntegerField(min_value=1, max_value=24 * 90, initial=72)
    minimum_detectable_effect = forms.FloatField(min_value=0.001, max_value=10.0, initial=0.05)
    planned_sample_size = forms.IntegerField(min_value=1, max_value=DB_INT_MAX, required=False)
    sequential = forms.BooleanField(
        required=False, initial=True, label="Always-valid inference (safe to peek)"
    )
    guardrails = forms.MultipleChoiceField(
        choices=[(g, g) for g in Experiment.GUARDRAIL_METRICS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["placement"].queryset = Placement.objects.filter(merchant=merchant)

    def clean(self):
        data = super().clean()
        if data.get("kind") == Experiment.Kind.COPY:
            if not data.get("field"):
                self.add_error("field", "Choose the copy field to test.")
            pairs = []
            for n, line in enumerate((data.get("alternative_copy") or "").splitlines(), start=1):
                if not line.strip():
                    continue
                sku, sep, text = line.partition("|")
                if not sep or not text.strip():
                    self.add_error("alternative_copy", f"Line {n}: write SKU | text.")
                    continue
                pairs.append((sku.strip(), text.strip()))
            products = {
                p.sku: p
                for p in Product.objects.filter(
                    merchant=self.merchant, sku__in=[s for s, _ in pairs]
                )
            }
            for sku, _ in pairs:
                if sku not in products:
                    self.add_error("alternative_copy", f"Unknown SKU {sku}.")
            if not pairs:
                self.add_error("alternative_copy", "Give at least one product's alternative copy.")
            data["pairs"] = [(products[s], t) for s, t in pairs if s in products]
        elif data.get("kind") == Experiment.Kind.PLACEMENT:
            if not data.get("placement"):
                self.add_error("placement", "Choose the placement to test.")
            if not data.get("strategy"):
                self.add_error("strategy", "Choose variant B's strategy.")
        return data


class ExperimentListView(Page):
    template_name = "dashboard/experiments/list.html"
    nav = "experiments"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["experiments"] = selectors.experiments_list(self.request.merchant)
        return context


class ExperimentCreateView(Page):
    template_name = "dashboard/experiments/create.html"
    nav = "experiments"
    required_role = "editor"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = form or ExperimentForm(merchant=self.request.merchant)
        return context

    def post(self, request, *args, **kwargs):
        form = ExperimentForm(request.POST, merchant=request.merchant)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        d = form.cleaned_data
        wb = d["weight_b"]
        common = dict(
            merchant=request.merchant, key=d["key"], name=d["name"], kind=d["kind"], hypothesis=d["hypothesis"],
            traffic_share=d["traffic_share"], attribution_window_hours=d["attribution_window_hours"],
            minimum_detectable_effect=d["minimum_detectable_effect"], planned_sample_size=d["planned_sample_size"],
            sequential=d["sequential"], guardrails=d["guardrails"], user=request.user,
        )  # fmt: skip
        try:
            if d["kind"] == Experiment.Kind.COPY:
                experiment = services.experiment_create(
                    field=d["field"],
                    products=[p for p, _ in d["pairs"]],
                    variants=[
                        {"name": "A", "weight": round(1 - wb, 6), "is_control": True},
                        {
                            "name": "B",
                            "weight": wb,
                            "payload": {"copy": {str(p.pk): t for p, t in d["pairs"]}},
                        },
                    ],
                    **common,
                )
            else:
                experiment = services.experiment_create(
                    placement=d["placement"],
                    variants=[
                        {"name": "A", "weight": round(1 - wb, 6), "is_control": True},
                        {"name": "B", "weight": wb, "payload": {"strategy": d["strategy"]}},
                    ],
                    **common,
                )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, "Experiment created as a draft. Start it when ready.")
        return redirect(
            "dashboard:experiment", merchant_slug=request.merchant.slug, experiment_id=experiment.pk
        )


def drafts_for_experiments(merchant, *, include_pending: bool):
    """Drafts that can become experiment arms: approved ones whose text is not the live copy
    (approved as arms, or overtaken since), and, for reviewers, pending ones. Drafts written
    for a shopper segment are named by their segment; they are tested against the general copy,
    so an approved one that is already its segment's copy is still listed."""
    from contentgen.models import CopyDraft
    from contentgen.review.selectors import _segment_names
    from merchandising.catalog.models import LiveCopy

    statuses = ["approved", "pending"] if include_pending else ["approved"]
    drafts = list(
        CopyDraft.objects.filter(merchant=merchant, status__in=statuses, product__isnull=False)
        .exclude(product__status="archived")
        .select_related("product")
        .order_by("field", "sku", "variant", "pk")[:500]
    )
    live = {
        (c.product_id, c.field): c.value
        for c in LiveCopy.objects.filter(
            merchant=merchant, product_id__in={d.product_id for d in drafts}
        )
    }
    names = _segment_names(merchant, {d.segment for d in drafts if d.segment})
    from contentgen import specs

    out = []
    for d in drafts:
        current = live.get((d.product_id, d.field))
        if d.status == "approved" and specs.live_value(d.kind, d.text) == current:
            continue  # already the live text: nothing to test
        if d.segment:
            d.segment_name = names.get(d.segment, f"segment {d.segment}")
        d.live_text = current
        out.append(d)
    return out


class ExperimentFromDraftsView(Page):
    """A copy experiment whose variant B (C, ...) are drafts: live copy against reviewed copy."""

    template_name = "dashboard/experiments/from_drafts.html"
    nav = "experiments"
    required_role = "editor"

    def get_context_data(self, errors=None, values=None, **kwargs):
        context = super().get_context_data(**kwargs)
        can_review = context.get("can_review")
        context.update(
            drafts=drafts_for_experiments(self.request.merchant, include_pending=can_review),
            errors=errors or [],
            values=values or {},
        )
        return context

    def post(self, request, *args, **kwargs):
        from merchandising.accounts.models import role_allows

        values = {k: request.POST.get(k, "").strip() for k in ("key", "name", "hypothesis")}
        ids = [i for i in request.POST.getlist("drafts") if i.isdigit()]
        can_review = role_allows(request.role, "reviewer")
        allowed = {
            d.pk: d for d in drafts_for_experiments(request.merchant, include_pending=can_review)
        }
        chosen = [int(i) for i in ids]
        errors = []
        if not values["key"] or not values["name"]:
            errors.append("Give the experiment a key and a name.")
        if not chosen:
            errors.append("Choose at least one draft.")
        elif any(i not in allowed for i in chosen):
            errors.append("Some of the chosen drafts cannot be tested (already live or decided).")
        if not errors:
            from contentgen.review.experiment_arms import drafts_approve_as_experiment

            try:
                experiment = drafts_approve_as_experiment(
                    merchant=request.merchant,
                    draft_ids=chosen,
                    user=request.user,
                    key=values["key"],
                    name=values["name"],
                    hypothesis=values["hypothesis"],
                    note=request.POST.get("note", "")[:2000],
                )
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(
                    request,
                    f"Experiment created from {len(chosen)} draft{'s' if len(chosen) != 1 else ''}"
                    " as a draft. Start it when ready.",
                )
                return redirect(
                    "dashboard:experiment",
                    merchant_slug=request.merchant.slug,
                    experiment_id=experiment.pk,
                )
        values["drafts"] = chosen
        return self.render_to_response(
            self.get_context_data(errors=errors, values=values), status=400
        )


def _is_demo(merchant) -> bool:
    """The demo merchant gets a "Simulate traffic" button (simulated shoppers are demo data)."""
    from merchandising.demo.seed import DEMO_SLUG

    return merchant.slug == DEMO_SLUG


def _get(request, experiment_id: int) -> Experiment:
    try:
        return selectors.experiment_get(request.merchant, experiment_id)
    except Experiment.DoesNotExist:
        raise Http404("No such experiment.") from None


class ExperimentDetailView(Page):
    template_name = "dashboard/experiments/detail.html"
    nav = "experiments"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        experiment = _get(self.request, self.kwargs["experiment_id"])
        report = selectors.experiment_report(self.request.merchant, experiment)
        analysis = report["analysis"]
        context.update(
            experiment=experiment,
            report=report,
            analysis=analysis,
            min_segment_units=stats.MIN_SEGMENT_UNITS_PER_ARM,
            is_demo=_is_demo(self.request.merchant),
        )
        for v in report["variants"]:
            v.settings_words = placement_settings_in_words(v.payload or {})
        if analysis:
            # One inference in force: the table, the chart and the headline quote its interval.
            sequential = analysis["inference"] == "sequential"
            for v in analysis["variants"]:
                if not v["is_control"]:
                    v["force_low"], v["force_high"] = stats.interval_in_force(analysis, v)
                    v["force_p"] = stats.p_value_in_force(analysis, v)
            rows = [
                (v["name"], v["abs_uplift"], v["force_low"], v["force_high"])
                for v in analysis["variants"]
                if not v["is_control"]
            ]
            label = (
                f"{100 * (1 - analysis['alpha']):.0f}% always-valid interval"
                if sequential
                else f"{100 * (1 - analysis['alpha']):.0f}% Newcombe interval"
            )
            context["uplift_label"] = label
            context["p_label"] = ("always-valid p" if sequential else "p, z-test") + (
                ", Holm" if analysis.get("correction") else ""
            )
            context["charts"] = {
                "cumulative": mark_safe(charts.cumulative_rate_chart(report["series"])),  # noqa: S308 (escaped in charts)
                "uplift": mark_safe(charts.uplift_interval_chart(rows, label=label)),  # noqa: S308
                "posterior": mark_safe(  # noqa: S308
                    charts.posterior_chart(
                        [(v["name"], v["units"], v["conversions"]) for v in analysis["variants"]]
                    )
                ),
            }
        return context


class ExperimentActionView(MerchantPageMixin, View):
    """POST start | pause | stop | ship | refresh (recompute the roll-ups now)."""

    write_role = "editor"

    def post(self, request, *args, **kwargs):
        experiment = _get(request, kwargs["experiment_id"])
        action = kwargs["action"]
        try:
            if action in services.LIFECYCLE:
                services.experiment_transition(
                    experiment=experiment, action=action, user=request.user
                )
                messages.success(
                    request,
                    f"Experiment {action}ed." if action != "stop" else "Experiment stopped.",
                )
            elif action == "ship":
                shipped = services.experiment_ship(
                    experiment=experiment,
                    variant_name=request.POST.get("variant") or None,
                    user=request.user,
                )
                messages.success(
                    request, f"Variant {shipped.winner} shipped and the experiment stopped."
                )
            elif action == "simulate" and _is_demo(request.merchant):
                from merchandising.demo.experiments_demo import simulate_traffic_submit

                if experiment.kind != Experiment.Kind.COPY or experiment.status == "stopped":
                    raise ValidationError(
                        "Simulated traffic is for copy tests that are not stopped."
                    )
                job = simulate_traffic_submit(experiment=experiment, user=request.user)
                messages.success(
                    request,
                    f"Simulating shoppers (job #{job.pk}); reload this page when it has finished.",
                )
            elif action == "refresh":
                services.experiment_rollup(experiment=experiment)
                messages.success(request, "Numbers recomputed from the latest events.")
            elif action == "weights":
                out = services.experiment_weights_set(
                    experiment=experiment,
                    weights={
                        v.name: float(request.POST.get(f"weight_{v.name}", v.weight))
                        for v in experiment.variants.all()
                    },
                    restart=request.POST.get("restart") == "1",
                )
                messages.success(request, out["warning"] or "Weights changed.")
            else:
                raise Http404("Unknown action.")
        except (ValidationError, ValueError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(
            "dashboard:experiment", merchant_slug=request.merchant.slug, experiment_id=experiment.pk
        )


class ExperimentSegmentsCSVView(Page):
    def get(self, request, *args, **kwargs):
        from merchandising.experiments.api import segments_csv_response

        return segments_csv_response(request.merchant, _get(request, kwargs["experiment_id"]))


class ExperimentDailyCSVView(Page):
    def get(self, request, *args, **kwargs):
        experiment = _get(request, kwargs["experiment_id"])
        response = HttpResponse(
            daily_csv(selectors.experiment_days(request.merchant, experiment)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="experiment-{experiment.key}-daily.csv"'
        )
        return response
