"""Dashboard pages of copy generation: generate, watch the job, see drafts, edit the brand voice.

The review queue (approve / edit / reject) lives in contentgen.review's own pages.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from contentgen import selectors as content
from contentgen import services as content_services
from contentgen.specs import KIND_NAMES, KINDS
from merchandising.catalog import selectors as catalog
from merchandising.jobs.models import Job

from .base import MerchantPageMixin

KIND_CHOICES = [(k, KINDS[k].label) for k in KIND_NAMES]


class GenerateForm(forms.Form):
    SCOPES = [("skus", "These products"), ("category", "A category"), ("all", "The whole catalog")]

    scope = forms.ChoiceField(choices=SCOPES, initial="skus", widget=forms.RadioSelect)
    skus = forms.CharField(
        required=False,
        label="SKUs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more SKUs, separated by commas, spaces or lines.",
    )
    category = forms.ChoiceField(required=False, choices=[])
    kinds = forms.MultipleChoiceField(
        choices=KIND_CHOICES,
        initial=["description", "seo_title", "ad_headline"],
        widget=forms.CheckboxSelectMultiple,
        label="What to write",
    )
    variants = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=5,
        help_text="Variants per field (empty: the kind's default).",
    )
    segment = forms.ChoiceField(
        required=False,
        choices=[],
        label="Written for",
        help_text="A shopper segment: the prompt says who the copy is for, and approved drafts "
        "are shown to that segment's members only. Everyone else keeps the general copy.",
    )

    def __init__(self, *args, categories=(), segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [(c, c) for c in categories]
        self.fields["segment"].choices = [("", "All shoppers (general copy)")] + [
            (str(s.pk), f"{s.name} ({s.size} visitors)") for s in segments
        ]

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == "skus":
            data["sku_list"] = [s for s in (data.get("skus") or "").replace(",", " ").split() if s]
            if not data["sku_list"]:
                self.add_error("skus", "Enter at least one SKU.")
        elif scope == "category" and not data.get("category"):
            self.add_error("category", "Pick a category.")
        return data


class BrandVoiceForm(forms.Form):
    tone = forms.CharField(
        max_length=100, help_text="For example friendly, premium, playful or technical."
    )
    audience = forms.CharField(max_length=300, required=False, help_text="Who buys from you.")
    language = forms.CharField(
        max_length=40, help_text='Language code or name, e.g. "en" or "German".'
    )
    avoid_words = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comma or line separated.",
    )
    avoid_claims = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Claims you never make."
    )
    prefer_phrases = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    examples = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Example copy you like, one per line. Approved drafts are added automatically.",
    )


def _categories(merchant) -> list[str]:
    return catalog.facet_values(merchant).get("categories", [])


def _segments(merchant) -> list:
    """The active segments copy can be written for (found and rule segments)."""
    try:
        from recsys.segments.selectors import segments_list
    except ImportError:  # segments app not installed
        return []
    return list(segments_list(merchant))


def _segment_names(merchant, keys) -> dict[str, str]:
    """segment key -> name, for showing whom drafts were written for (archived ones too)."""
    keys = [k for k in keys if k and str(k).isdigit()]
    if not keys:
        return {}
    try:
        from recsys.segments.selectors import segments_list
    except ImportError:
        return {}
    rows = segments_list(merchant, include_inactive=True).filter(pk__in=keys)
    return {str(pk): name for pk, name in rows.values_list("pk", "name")}


class ProductPickerView(MerchantPageMixin, TemplateView):
    """htmx fragment of the Content page: products matching a SKU or title search, each with
    a button that adds its SKU to the SKUs box."""

    template_name = "dashboard/content/_picker.html"
    nav = "content"
    LIMIT = 20

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        q = (self.request.GET.get("q") or "").strip()[:300]
        found = []
        if q:
            found = list(
                catalog.products_list(self.request.merchant, q=q, status="active")
                .only("sku", "title")
                .order_by("sku")[: self.LIMIT]
            )
        context.update(q=q, found=found, limit=self.LIMIT)
        return context


class ContentHomeView(MerchantPageMixin, TemplateView):
    """Generate copy for a selection, a category or everything; recent generation jobs."""

    template_name = "dashboard/content/home.html"
    nav = "content"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        initial = {}
        if self.request.GET.get("skus"):
            initial = {"scope": "skus", "skus": self.request.GET["skus"]}
        if self.request.GET.get("segment"):
            initial["segment"] = self.request.GET["segment"]
        context.setdefault(
            "form",
            GenerateForm(
                initial=initial or None,
                categories=_categories(merchant),
                segments=_segments(merchant),
            ),
        )
        context["jobs"] = content.generation_jobs(merchant)[:10]
        context["pending"] = content.drafts_list(merchant, status="pending").count()
        return context

    def post(self, request, *args, **kwargs):
        merchant = request.merchant
        form = GenerateForm(
            request.POST, categories=_categories(merchant), segments=_segments(merchant)
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = content_services.generation_request(
                    merchant=merchant,
                    kinds=data["kinds"],
                    skus=data.get("sku_list") if data["scope"] == "skus" else None,
                    category=data.get("category", "") if data["scope"] == "category" else "",
                    all_products=data["scope"] == "all",
                    variants=data.get("variants"),
                    segment=data.get("segment") or "",
                    user=request.user,
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "segment" in exc.error_dict:
                    form.add_error("segment", exc.error_dict.pop("segment"))
                if not hasattr(exc, "error_dict") or exc.error_dict:
                    form.add_error(None, " ".join(exc.messages))
            else:
                return redirect("dashboard:content-job", merchant_slug=merchant.slug, job_id=job.pk)
        return self.render_to_response(self.get_context_data(form=form))


class GenerationJobView(MerchantPageMixin, TemplateView):
    """A generation job's progress and its drafts so far; htmx polls the fragment until it ends."""

    template_name = "dashboard/content/generation.html"
    nav = "content"

    def get_template_names(self):
        if self.request.htmx:
            return ["dashboard/content/_generation.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            job = content.generation_job_get(self.request.merchant, self.kwargs["job_id"])
        except Job.DoesNotExist:
            raise Http404("No such generation job.") from None
        context["job"] = job
        context["drafts"] = list(content.drafts_list(self.request.merchant, job=job)[:300])
        segment = (job.params or {}).get("segment") or ""
        context["segment_name"] = (
            _segment_names(self.request.merchant, [segment]).get(segment)
            or ((job.params or {}).get("audience") or {}).get("name", "")
            if segment
            else ""
        )
        context["segment_id"] = int(segment) if str(segment).isdigit() else None
        return context


class DraftListView(MerchantPageMixin, TemplateView):
    """Drafts per product with their guard results (filter by SKU, status, kind)."""

    template_name = "dashboard/content/drafts.html"
    nav = "content"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        status = self.request.GET.get("status", "pending")
        kind = self.request.GET.get("kind", "")
        sku = self.request.GET.get("sku", "").strip()
        qs = content.drafts_list(merchant, status=status or None, kind=kind or None)
        if sku:
            qs = qs.filter(sku=sku)
        page = Paginator(qs, 60).get_page(self.request.GET.get("page"))
        context.update(
            page=page,
            drafts=page.object_list,
            status=status,
            kind=kind,
            sku=sku,
            kinds=KIND_CHOICES,
        )
        return context


class BrandVoiceView(MerchantPageMixin, TemplateView):
    template_name = "dashboard/content/voice.html"
    nav = "content"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        voice = content.brand_voice_for(self.request.merchant)
        if "form" not in context:
            context["form"] = BrandVoiceForm(
                initial={
                    "tone": voice.tone,
                    "audience": voice.audience,
                    "language": voice.language,
                    "avoid_words": ", ".join(voice.avoid_words or []),
                    "avoid_claims": ", ".join(voice.avoid_claims or []),
                    "prefer_phrases": ", ".join(voice.prefer_phrases or []),
                    "examples": "\n".join(
                        e["text"]
                        if isinstance(e.get("text"), str)
                        else " | ".join(e.get("text") or [])
                        for e in voice.examples or []
                        if e.get("source", "manual") == "manual"
                    ),
                }
            )
        context["voice"] = voice
        context["approved_examples"] = [
            e for e in voice.examples or [] if e.get("source") == "approved"
        ]
        return context

    def post(self, request, *args, **kwargs):
        form = BrandVoiceForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = dict(form.cleaned_data)
        voice = content.brand_voice_for(request.merchant)
        approved = [e for e in voice.examples or [] if e.get("source") == "approved"]
        manual = [
            {"kind": "", "text": line.strip(), "source": "manual"}
            for line in data.pop("examples").splitlines()
            if line.strip()
        ]
        data["examples"] = manual + approved
        try:
            content_services.brand_voice_update(
                merchant=request.merchant, data=data, user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, "Brand voice saved. New generations use it.")
        return redirect("dashboard:content-voice", merchant_slug=request.merchant.slug)
