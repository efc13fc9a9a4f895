"""Dashboard pages of review: the queue (approve, edit, reject, bulk), the audit log with CSV
export, a product's copy history with revert, and the rejection report.

Anyone on the merchant's staff can read these pages; decisions need the reviewer right
(reviewers and owners). Editors generate, but cannot approve their own drafts.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.views import View

from contentgen.models import CopyDraft
from contentgen.review import selectors, services
from contentgen.review.models import RejectionReason, ReviewDecision
from merchandising import inputs
from merchandising.catalog import selectors as catalog
from merchandising.catalog.models import CopyRevision, Product

from .base import MerchantPageMixin
from .views import Page

QUEUE_PAGE_PRODUCTS = 10
LOG_PAGE = 100
FILTER_KEYS = ("kind", "flag", "category", "age", "stale", "field")


def queue_filters(params) -> dict:
    stale = params.get("stale", "")
    return {
        "kind": params.get("kind", "")[:32],
        "flag": params.get("flag", "")[:64],
        "category": params.get("category", "")[:300],
        "age": params.get("age", "")[:10],
        "field": params.get("field", "")[:32],
        "stale": True if stale == "yes" else False if stale == "no" else None,
    }


class ReviewQueueView(Page):
    template_name = "dashboard/review/queue.html"
    nav = "review"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        queue = selectors.review_queue(
            self.request.merchant,
            limit_products=QUEUE_PAGE_PRODUCTS,
            offset=(page - 1) * QUEUE_PAGE_PRODUCTS,
            **queue_filters(params),
        )
        kept = {k: params.get(k, "") for k in FILTER_KEYS if params.get(k)}
        context.update(
            queue=queue,
            facets=selectors.queue_facets(self.request.merchant),
            filters={k: params.get(k, "") for k in FILTER_KEYS},
            query=urlencode({**kept, "page": page}) if kept or page > 1 else "",
            page=page,
            has_next=page * QUEUE_PAGE_PRODUCTS < queue["products"],
            next_query=urlencode({**kept, "page": page + 1}),
            prev_query=urlencode({**kept, "page": page - 1}),
            reasons=RejectionReason.choices,
            # Rendered once, not once per draft card (the queue page's cost is its template).
            reason_options=format_html_join(
                "", '<option value="{}">{}</option>', RejectionReason.choices
            ),
            # one prefix for the per-draft action URLs (reversing 4 URLs per draft is slow)
            review_base=reverse(
                "dashboard:review", kwargs={"merchant_slug": self.request.merchant.slug}
            ),
        )
        return context


class DecisionView(MerchantPageMixin, View):
    """POST approve / edit / reject one draft, then back to the queue at the next draft."""

    write_role = "reviewer"
    action = ""

    def draft(self) -> CopyDraft:
        try:
            return selectors.draft_get(self.request.merchant, self.kwargs["draft_id"])
        except (CopyDraft.DoesNotExist, ValueError):
            raise Http404("No such draft.") from None

    def http_method_not_allowed(self, request, *args, **kwargs):
        # Another merchant's id is a 404 whatever the method; for our own draft, POST only.
        self.draft()
        return HttpResponseNotAllowed(["POST"])

    def post(self, request, *args, **kwargs):
        draft = self.draft()
        action = self.action
        data = request.POST
        note = data.get("note", "")[:2000]
        anyway = data.get("approve_anyway") in ("on", "1", "true")
        try:
            if action == "approve":
                decision = services.draft_approve(
                    draft=draft, user=request.user, note=note, approve_anyway=anyway
                )
            elif action == "edit":
                decision = services.draft_edit_approve(
                    draft=draft,
                    user=request.user,
                    text=data.get("text", ""),
                    note=note,
                    approve_anyway=anyway,
                )
            elif action == "reject":
                decision = services.draft_reject(
                    draft=draft, user=request.user, reason=data.get("reason", ""), note=note
                )
            elif action == "experiment":
                decision = services.draft_approve_as_experiment(
                    draft=draft, user=request.user, note=note, approve_anyway=anyway
                )
                messages.success(
                    request,
                    f"{decision.sku} {decision.field}: draft {draft.pk} is variant B of the "
                    f"new experiment {decision.experiment.key}; start it on its page.",
                )
                return redirect(
                    "dashboard:experiment",
                    merchant_slug=request.merchant.slug,
                    experiment_id=decision.experiment_id,
                )
            else:
                raise Http404("Unknown action.")
        except services.DraftAlreadyDecided as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(
                request, f"Draft {draft.pk} ({draft.sku}, {draft.kind}): " + " ".join(exc.messages)
            )
            return self._back(request, anchor=f"d-{draft.pk}")
        else:
            messages.success(request, _decided_message(decision))
        return self._back(request, anchor=data.get("next", ""))

    def _back(self, request, *, anchor: str = ""):
        url = reverse("dashboard:review", kwargs={"merchant_slug": request.merchant.slug})
        query = request.POST.get("query", "")
        if query:
            url += "?" + query[:1000]
        if anchor and anchor.replace("-", "").isalnum():
            url += "#" + anchor
        return redirect(url)


def _decided_message(decision: ReviewDecision) -> str:
    what = {
        ReviewDecision.Action.APPROVE: "approved and live",
        ReviewDecision.Action.EDIT_APPROVE: "edited, approved and live",
        ReviewDecision.Action.REJECT: f"rejected ({decision.get_reason_display()})",
    }.get(decision.action, decision.get_action_display())
    if decision.segment and decision.action != ReviewDecision.Action.REJECT:
        what = what.replace("and live", f"for segment {decision.segment}")
    return f"{decision.sku} {decision.field}: {what}."


class BulkDecisionView(MerchantPageMixin, View):
    write_role = "reviewer"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        ids = inputs.db_ids(request.POST.getlist("draft_ids"))
        action = request.POST.get("bulk_action", "")
        try:
            if action == "approve":
                result = services.drafts_bulk_approve(
                    merchant=request.merchant, draft_ids=ids, user=request.user
                )
                messages.success(request, result.summary("Approved"))
            elif action == "reject":
                result = services.drafts_bulk_reject(
                    merchant=request.merchant,
                    draft_ids=ids,
                    user=request.user,
                    reason=request.POST.get("reason", ""),
                    note=request.POST.get("note", "")[:2000],
                )
                messages.success(request, result.summary("Rejected"))
            else:
                messages.error(request, "Choose approve or reject.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        url = reverse("dashboard:review", kwargs={"merchant_slug": request.merchant.slug})
        query = request.POST.get("query", "")
        return redirect(url + ("?" + query[:1000] if query else ""))


class DecisionLogView(Page):
    template_name = "dashboard/review/log.html"
    nav = "review"
    csv = False

    def decisions(self):
        params = self.request.GET
        qs = selectors.decisions_list(
            self.request.merchant,
            action=params.get("action", "")[:16],
            kind=params.get("kind", "")[:32],
        )
        if params.get("q"):
            qs = qs.filter(sku__icontains=params["q"][:100])
        if params.get("sku"):  # exact, for one product's export
            qs = qs.filter(sku=params["sku"][:100])
        return qs

    def get(self, request, *args, **kwargs):
        if self.csv:
            response = HttpResponse(
                selectors.decisions_csv(self.decisions().iterator()),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = (
                f'attachment; filename="{request.merchant.slug}-review-log.csv"'
            )
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        kept = {k: params[k] for k in ("action", "kind", "q") if params.get(k)}
        context.update(
            decisions=self.decisions()[:LOG_PAGE],
            actions=ReviewDecision.Action.choices,
            filters={k: params.get(k, "") for k in ("action", "kind", "q")},
            query=urlencode(kept),
            kinds=selectors.queue_facets(self.request.merchant)["kinds"],
        )
        return context


class ProductCopyView(Page):
    """One product's copy: live fields, every revision with the decision behind it, revert."""

    template_name = "dashboard/review/product.html"
    nav = "review"

    def product(self) -> Product:
        try:
            return catalog.product_get_by_id(self.request.merchant, self.kwargs["product_id"])
        except Product.DoesNotExist:
            raise Http404("No such product.") from None

    def http_method_not_allowed(self, request, *args, **kwargs):
        self.product()  # another merchant's id is a 404 whatever the method
        return super().http_method_not_allowed(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.product()
        context.update(
            product=product,
            live_copy=catalog.product_live_copy(product),
            history=selectors.copy_history(self.request.merchant, product)[:200],
            decisions=selectors.decisions_list(self.request.merchant, product=product)[:200],
            pending=CopyDraft.objects.filter(
                merchant=self.request.merchant, product=product, status=CopyDraft.Status.PENDING
            ).count(),
        )
        return context


class ProductRevertView(MerchantPageMixin, View):
    write_role = "reviewer"

    def http_method_not_allowed(self, request, *args, **kwargs):
        try:
            product = catalog.product_get_by_id(request.merchant, kwargs["product_id"])
            CopyRevision.objects.get(product=product, pk=kwargs["revision_id"])
        except (Product.DoesNotExist, CopyRevision.DoesNotExist):
            raise Http404("No such product or revision.") from None
        return HttpResponseNotAllowed(["POST"])

    def post(self, request, *args, **kwargs):
        try:
            product = catalog.product_get_by_id(request.merchant, kwargs["product_id"])
            services.copy_revert(
                product=product,
                revision_id=kwargs["revision_id"],
                user=request.user,
                note=request.POST.get("note", "")[:2000],
            )
        except (Product.DoesNotExist, CopyRevision.DoesNotExist):
            raise Http404("No such product or revision.") from None
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Reverted; the earlier text is live again.")
        return redirect(
            "dashboard:review-product",
            merchant_slug=request.merchant.slug,
            product_id=kwargs["product_id"],
        )


class RejectionReportView(Page):
    template_name = "dashboard/review/report.html"
    nav = "review"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["report"] = selectors.rejection_report(self.request.merchant)
        return context


review_urls = [
    path("content/review/", ReviewQueueView.as_view(), name="review"),
    path("content/review/bulk/", BulkDecisionView.as_view(), name="review-bulk"),
    path("content/review/log/", DecisionLogView.as_view(), name="review-log"),
    path("content/review/log.csv", DecisionLogView.as_view(csv=True), name="review-log-csv"),
    path("content/review/report/", RejectionReportView.as_view(), name="review-report"),
    path(
        "content/review/products/<int:product_id>/",
        ProductCopyView.as_view(),
        name="review-product",
    ),
    path(
        "content/review/products/<int:product_id>/revert/<int:revision_id>/",
        ProductRevertView.as_view(),
        name="review-revert",
    ),
    *[
        path(
            f"content/review/<int:draft_id>/{action}/",
            DecisionView.as_view(action=action),
            name=f"review-{action}",
        )
        for action in ("approve", "edit", "reject", "experiment")
    ],
]
