"""Dashboard pages of brand-voice fine-tuning: training data (with the merchant's standing past
copy: upload, replace, remove), start a run, watch it, compare base vs adapter, and the adapter
registry with activate and rollback.

Reading is open to the whole staff; starting, activating and rolling back need the editor right.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.utils.dateparse import parse_datetime
from django.views import View

from contentgen.finetuning import selectors, services
from contentgen.finetuning.data import ENOUGH_PER_KIND, MIN_EXAMPLES
from contentgen.finetuning.models import AdapterVersion
from contentgen.finetuning.past_copy import FORMAT_HELP, MAX_PAST_COPY_BYTES, too_big_message
from contentgen.finetuning.past_copy import REASONS as PAST_COPY_REASONS
from contentgen.finetuning.training import LoraSettings
from contentgen.specs import KIND_NAMES, get_spec

from .base import MerchantPageMixin
from .views import Page

_DEFAULTS = LoraSettings()


class FinetuneForm(forms.Form):
    epochs = forms.FloatField(
        required=False, min_value=0.1, max_value=50, initial=_DEFAULTS.epochs,
        help_text="Passes over the training data (ignored when max steps is set).",
    )  # fmt: skip
    max_steps = forms.IntegerField(
        required=False, min_value=1, max_value=100_000, label="Max steps",
        help_text="Stop after this many optimizer steps (optional).",
    )  # fmt: skip
    rank = forms.IntegerField(
        required=False, min_value=1, max_value=256, initial=_DEFAULTS.rank, label="LoRA rank"
    )
    alpha = forms.IntegerField(
        required=False, min_value=1, max_value=1024, initial=_DEFAULTS.alpha, label="LoRA alpha"
    )
    learning_rate = forms.FloatField(
        required=False, min_value=1e-6, max_value=1.0, initial=_DEFAULTS.learning_rate,
        label="Learning rate",
    )  # fmt: skip
    batch_size = forms.IntegerField(
        required=False, min_value=1, max_value=256, initial=_DEFAULTS.batch_size, label="Batch size"
    )
    max_length = forms.IntegerField(
        required=False, min_value=64, max_value=32768, initial=_DEFAULTS.max_length,
        label="Max tokens per example",
    )  # fmt: skip
    eval_fraction = forms.FloatField(
        min_value=0.05, max_value=0.45, initial=0.2, label="Held-out share",
        help_text="Part of the examples kept back to compare the base model and the adapter.",
    )  # fmt: skip
    auto_activate = forms.BooleanField(
        required=False, label="Activate automatically when better on the held-out examples"
    )
    file = forms.FileField(
        required=False, label="Past copy (optional)",
        help_text='JSONL lines {"product": {...}, "kind": "description", "text": "..."} or a CSV '
        "with kind, text, title and product columns.",
    )  # fmt: skip

    SETTING_FIELDS = (
        "epochs",
        "max_steps",
        "rank",
        "alpha",
        "learning_rate",
        "batch_size",
        "max_length",
    )

    def training_settings(self) -> dict:
        return {
            k: self.cleaned_data[k]
            for k in self.SETTING_FIELDS
            if self.cleaned_data.get(k) not in (None, "")
        }


class PastCopyForm(forms.Form):
    file = forms.FileField(label="Past copy file (JSONL or CSV)")
    partial = forms.BooleanField(
        required=False,
        label="Keep only the valid lines",
        help_text="By default a file with a bad line is refused whole and nothing changes.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        too_big = too_big_message(upload.size)
        if too_big:
            raise forms.ValidationError(too_big)
        return upload


def _past_copy_context(merchant) -> dict:
    current = selectors.past_copy_status(merchant)
    if current is None:
        return {"past_copy": None}
    kinds = [
        {"kind": k, "label": get_spec(k).label, "count": n}
        for k, n in sorted(current["per_kind"].items(), key=lambda kv: KIND_NAMES.index(kv[0]))
    ]
    left_out = [
        {"reason": r, "label": PAST_COPY_REASONS.get(r, r), "count": n}
        for r, n in current["left_out"].items()
    ]
    return {
        "past_copy": current,
        "past_copy_kinds": kinds,
        "past_copy_left_out": left_out,
        "past_copy_uploaded_at": parse_datetime(current["uploaded_at"] or ""),
    }


def _user(request):
    return request.user if getattr(request.user, "pk", None) else None


class FinetuneHomeView(Page):
    template_name = "dashboard/finetune/home.html"
    nav = "finetune"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        context.update(
            summary=selectors.training_data_summary(merchant),
            adapters=list(selectors.adapter_list(merchant)[:50]),
            active=selectors.active_adapter(merchant),
            house=selectors.house_adapter_summary(),
            history=selectors.activation_history(merchant, limit=10),
            running=selectors.training_in_progress(merchant),
            min_examples=MIN_EXAMPLES,
            enough_per_kind=ENOUGH_PER_KIND,
            form=kwargs.get("form") or FinetuneForm(),
            past_copy_form=kwargs.get("past_copy_form") or PastCopyForm(),
            past_copy_formats=FORMAT_HELP,
            past_copy_max_mb=MAX_PAST_COPY_BYTES // (1024 * 1024),
            **_past_copy_context(merchant),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = FinetuneForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data.get("file")
            try:
                adapter = services.finetune_start(
                    merchant=request.merchant,
                    user=_user(request),
                    training_settings=form.training_settings(),
                    eval_fraction=form.cleaned_data["eval_fraction"],
                    auto_activate=form.cleaned_data["auto_activate"],
                    upload=upload.read() if upload else None,
                    upload_name=upload.name if upload else "",
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Fine-tuning of adapter v{adapter.version} started.")
                return redirect("dashboard:finetune-adapter", request.merchant.slug, adapter.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PastCopyUploadView(FinetuneHomeView):
    """Upload (or replace) the merchant's standing past copy; a refused file changes nothing."""

    def get(self, request, *args, **kwargs):
        return redirect("dashboard:finetune", request.merchant.slug)

    def post(self, request, *args, **kwargs):
        form = PastCopyForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = services.past_copy_replace(
                    merchant=request.merchant,
                    content=upload.read(),
                    filename=upload.name,
                    partial=form.cleaned_data["partial"],
                    user=_user(request),
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("file", message)
            else:
                left = report["left_out_total"]
                messages.success(
                    request,
                    f"Past copy saved: {report['kept']} examples kept"
                    + (f", {left} left out (see below)." if left else "."),
                )
                return redirect("dashboard:finetune", request.merchant.slug)
        return self.render_to_response(self.get_context_data(past_copy_form=form), status=400)


class PastCopyRemoveView(MerchantPageMixin, View):
    def post(self, request, merchant_slug):
        if services.past_copy_remove(merchant=request.merchant):
            messages.success(request, "Past copy removed; later runs train on approved copy only.")
        else:
            messages.info(request, "There was no past copy to remove.")
        return redirect("dashboard:finetune", merchant_slug)


class AdapterView(Page):
    template_name = "dashboard/finetune/adapter.html"
    nav = "finetune"

    def get_template_names(self):
        if self.request.htmx:
            return ["dashboard/finetune/_run.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            adapter = selectors.adapter_get(self.request.merchant, kwargs["adapter_id"])
        except AdapterVersion.DoesNotExist as exc:
            raise Http404("No such adapter.") from exc
        metrics = adapter.metrics or {}
        rows = []
        for key, label in (
            ("eval_loss", "Held-out loss (lower is better)"),
            ("perplexity", "Perplexity (lower is better)"),
            ("guard_pass_rate", "Guard pass rate (higher is better)"),
            ("coverage", "Attribute coverage (higher is better)"),
        ):
            rows.append(
                {
                    "label": label,
                    "base": (metrics.get("base") or {}).get(key),
                    "adapter": (metrics.get("adapter") or {}).get(key),
                }
            )
        context.update(adapter=adapter, job=adapter.job, report_rows=rows, metrics=metrics)
        return context


class AdapterActivateView(MerchantPageMixin, View):
    def post(self, request, merchant_slug, adapter_id):
        try:
            adapter = services.adapter_activate(
                merchant=request.merchant, adapter_id=adapter_id, user=_user(request)
            )
        except AdapterVersion.DoesNotExist as exc:
            raise Http404("No such adapter.") from exc
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Adapter v{adapter.version} is now used for generation.")
        return redirect("dashboard:finetune", merchant_slug)


class AdapterRollbackView(MerchantPageMixin, View):
    def post(self, request, merchant_slug):
        to = request.POST.get("to") or None
        try:
            adapter = services.adapter_rollback(
                merchant=request.merchant,
                user=_user(request),
                to_adapter_id=int(to) if to else None,
            )
        except (AdapterVersion.DoesNotExist, ValueError) as exc:
            raise Http404("No such adapter.") from exc
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Rolled back to adapter v{adapter.version}."
                if adapter
                else "Rolled back to the base model.",
            )
        return redirect("dashboard:finetune", merchant_slug)


finetune_urls = [
    path("content/fine-tuning/", FinetuneHomeView.as_view(), name="finetune"),
    path(
        "content/fine-tuning/<int:adapter_id>/",
        AdapterView.as_view(),
        name="finetune-adapter",
    ),
    path(
        "content/fine-tuning/<int:adapter_id>/activate/",
        AdapterActivateView.as_view(),
        name="finetune-activate",
    ),
    path("content/fine-tuning/rollback/", AdapterRollbackView.as_view(), name="finetune-rollback"),
    path(
        "content/fine-tuning/past-copy/",
        PastCopyUploadView.as_view(),
        name="finetune-past-copy",
    ),
    path(
        "content/fine-tuning/past-copy/remove/",
        PastCopyRemoveView.as_view(),
        name="finetune-past-copy-remove",
    ),
]
