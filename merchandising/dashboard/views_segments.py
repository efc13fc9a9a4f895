"""Dashboard pages for shopper segments: the segment cards, one segment, one visitor, privacy."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views import View

from merchandising import inputs
from merchandising.jobs.models import Job
from recsys.segments import rules, selectors, services
from recsys.segments.models import Segment

from .base import MerchantPageMixin
from .views import Page

log = logging.getLogger(__name__)


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120, required=False, help_text="Empty: the rule in words.")
    field = forms.ChoiceField(choices=[(f, f.replace("_", " ")) for f in rules.FIELDS])
    op = forms.ChoiceField(choices=list(rules.OP_WORDS.items()))
    value = forms.CharField(
        max_length=200, help_text="For 'is one of': values separated by commas."
    )
    field2 = forms.ChoiceField(
        choices=[("", "(no second condition)")] + [(f, f.replace("_", " ")) for f in rules.FIELDS],
        required=False,
        label="and",
    )
    op2 = forms.ChoiceField(choices=list(rules.OP_WORDS.items()), required=False)
    value2 = forms.CharField(max_length=200, required=False)

    def rule(self) -> dict:
        d = self.cleaned_data
        conditions = [{"field": d["field"], "op": d["op"], "value": d["value"]}]
        if d.get("field2"):
            conditions.append({"field": d["field2"], "op": d["op2"] or "eq", "value": d["value2"]})
        return {"match": "all", "conditions": conditions}


def _segments_url(request):
    return redirect("dashboard:segments", merchant_slug=request.merchant.slug)


class SegmentListView(Page):
    template_name = "dashboard/segments/list.html"
    nav = "segments"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        segments = list(selectors.segments_list(merchant))
        setting = selectors.privacy_settings(merchant)
        context.update(
            found=[s for s in segments if s.kind == Segment.Kind.FOUND],
            rule_segments=[s for s in segments if s.kind == Segment.Kind.RULE],
            run=selectors.latest_run(merchant),
            job=Job.objects.filter(merchant=merchant, kind="segments")
            .order_by("-created_at")
            .first(),
            rule_form=kwargs.get("rule_form") or RuleForm(),
            retention=setting.event_retention_days if setting else None,
            erasures=selectors.erasure_log(merchant, limit=10),
        )
        return context


class SegmentDiscoverView(MerchantPageMixin, View):
    def post(self, request, merchant_slug):
        job = services.segments_discover_submit(merchant=request.merchant, user=request.user)
        if job.reused:
            messages.info(
                request, f"Segments are already being found (job #{job.pk}); no second run queued."
            )
        else:
            messages.info(
                request, f"Finding segments (job #{job.pk}); this page shows them when it is done."
            )
        return _segments_url(request)


class RuleSegmentCreateView(MerchantPageMixin, View):
    def post(self, request, merchant_slug):
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                segment = services.rule_segment_create(
                    merchant=request.merchant, name=form.cleaned_data["name"], rule=form.rule()
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                if segment.size:
                    messages.success(request, f"“{segment.name}” matches {segment.size} visitors.")
                else:
                    messages.warning(request, f"“{segment.name}” matches no visitor yet.")
        else:
            for field, errors in form.errors.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        return _segments_url(request)


def _segment(request, segment_id: int) -> Segment:
    try:
        return selectors.segment_get(request.merchant, segment_id)
    except Segment.DoesNotExist:
        raise Http404("No such segment.") from None


class SegmentDetailView(Page):
    template_name = "dashboard/segments/detail.html"
    nav = "segments"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        segment = _segment(self.request, kwargs["segment_id"])
        from merchandising.catalog.selectors import segment_copy_list

        context.update(
            segment=segment,
            members=selectors.segment_members(self.request.merchant, segment),
            segment_copy=segment_copy_list(self.request.merchant, str(segment.pk)),
        )
        return context


class SegmentRenameView(MerchantPageMixin, View):
    def post(self, request, merchant_slug, segment_id):
        segment = _segment(request, segment_id)
        try:
            services.segment_rename(segment=segment, name=request.POST.get("name", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Renamed to “{segment.name}”.")
        return redirect("dashboard:segment", merchant_slug=merchant_slug, segment_id=segment.pk)


class SegmentArchiveView(MerchantPageMixin, View):
    def post(self, request, merchant_slug, segment_id):
        segment = services.segment_archive(segment=_segment(request, segment_id))
        messages.success(request, f"“{segment.name}” archived.")
        return _segments_url(request)


class SegmentMergeView(MerchantPageMixin, View):
    def post(self, request, merchant_slug):
        ids = inputs.db_ids(request.POST.getlist("segment_ids"))
        try:
            segment = services.segments_merge(
                merchant=request.merchant, segment_ids=ids, name=request.POST.get("name", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except (Segment.DoesNotExist, ValueError):
            raise Http404("No such segment.") from None
        else:
            messages.success(request, f"Merged into “{segment.name}” ({segment.size} visitors).")
        return _segments_url(request)


class VisitorView(Page):
    """One visitor: profile, segments, recent events, and what each placement shows them."""

    template_name = "dashboard/segments/visitor.html"
    nav = "segments"

    def get(self, request, *args, **kwargs):
        if kwargs.get("visitor_id") is None:
            visitor = request.GET.get("visitor_id", "").strip()
            if not visitor:
                return _segments_url(request)
            return redirect(
                "dashboard:visitor", merchant_slug=request.merchant.slug, visitor_id=visitor
            )
        response = super().get(request, *args, **kwargs)
        if not (response.context_data["profile"] or response.context_data["events"]):
            response.status_code = 404  # nothing stored: the page says so, with a 404
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        visitor_id = kwargs["visitor_id"]
        profile = selectors.visitor_profile(merchant, visitor_id)
        events = selectors.visitor_recent_events(merchant, visitor_id)
        context.update(
            visitor_id=visitor_id,
            profile=profile,
            segments=selectors.visitor_segments(merchant, visitor_id),
            events=events,
            placements=_placements_for(merchant, visitor_id) if (profile or events) else [],
            can_erase=self.request.role == "owner",
        )
        return context


def _placements_for(merchant, visitor_id: str) -> list[dict]:
    try:
        from merchandising.storefront.models import Placement
        from recsys import serving
    except ImportError:
        return []
    out = []
    for placement in Placement.objects.filter(merchant=merchant).order_by("key")[:8]:
        try:
            served = serving.recommend(
                merchant=merchant,
                spec=serving.PlacementSpec.from_placement(placement),
                visitor_id=visitor_id,
                limit=5,
            )
            out.append({"placement": placement, "strategy": served.strategy, "items": served.items})
        except Exception as exc:  # a placement that cannot serve must not break the page
            log.warning("placement %s for %s: %s", placement.key, visitor_id, exc)
            out.append({"placement": placement, "strategy": "", "items": [], "error": str(exc)})
    return out


class VisitorEraseView(MerchantPageMixin, View):
    write_role = "owner"

    def post(self, request, merchant_slug, visitor_id):
        result = services.visitor_erase(
            merchant=request.merchant, visitor_id=visitor_id, user=request.user, via="dashboard"
        )
        if not result["found"]:
            raise Http404(result["message"])  # a clear no-op: nothing was stored
        messages.success(request, result["message"])
        return _segments_url(request)


class PrivacyView(MerchantPageMixin, View):
    write_role = "owner"

    def post(self, request, merchant_slug):
        raw = request.POST.get("event_retention_days", "").strip()
        try:
            days = int(raw) if raw else None
            services.privacy_settings_set(merchant=request.merchant, event_retention_days=days)
        except (ValueError, ValidationError) as exc:
            messages.error(
                request,
                "Retention: " + (" ".join(getattr(exc, "messages", [])) or "a number of days."),
            )
        else:
            messages.success(
                request,
                f"Raw events are kept for {days} days."
                if days
                else "Raw events are kept until erased.",
            )
        return _segments_url(request)
