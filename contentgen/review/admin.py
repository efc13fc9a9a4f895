"""Django admin for platform operators: drafts and review decisions, with the same approve and
reject actions as the queue (they go through the same services, so they are logged too)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from contentgen.models import CopyDraft
from merchandising.accounts.models import Merchant

from . import services
from .models import RejectionReason, ReviewDecision


def _report(modeladmin, request, result: services.BulkResult, verb: str) -> None:
    level = messages.WARNING if result.skipped else messages.SUCCESS
    modeladmin.message_user(request, result.summary(verb), level=level)


def _by_merchant(queryset):
    groups: dict[int, list[int]] = {}
    for draft in queryset.only("pk", "merchant_id"):
        groups.setdefault(draft.merchant_id, []).append(draft.pk)
    return groups


@admin.action(description="Approve selected drafts (publishes them as live copy)")
def approve_drafts(modeladmin, request, queryset):
    result = services.BulkResult()
    for merchant_id, ids in _by_merchant(queryset).items():
        part = services.drafts_bulk_approve(
            merchant=Merchant.objects.get(pk=merchant_id),
            draft_ids=ids,
            user=request.user,
        )
        result.decided += part.decided
        result.skipped.update(part.skipped)
    _report(modeladmin, request, result, "Approved")


def _reject_action(reason: str, label: str):
    def action(modeladmin, request, queryset):
        result = services.BulkResult()
        for merchant_id, ids in _by_merchant(queryset).items():
            try:
                part = services.drafts_bulk_reject(
                    merchant=Merchant.objects.get(pk=merchant_id),
                    draft_ids=ids,
                    user=request.user,
                    reason=reason,
                    note="Rejected in the admin",
                )
            except ValidationError as exc:
                modeladmin.message_user(request, " ".join(exc.messages), level=messages.ERROR)
                return
            result.decided += part.decided
            result.skipped.update(part.skipped)
        _report(modeladmin, request, result, "Rejected")

    action.__name__ = f"reject_{reason}"
    return admin.action(description=f"Reject selected drafts: {label}")(action)


REJECT_ACTIONS = [
    _reject_action(code, label) for code, label in RejectionReason.choices if code != "other"
]


class CopyDraftAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "merchant",
        "sku",
        "kind",
        "variant",
        "segment",
        "status",
        "passed",
        "coverage",
        "created_at",
    )
    list_filter = ("status", "kind", "passed", "merchant")
    search_fields = ("sku",)
    readonly_fields = (
        "merchant",
        "product",
        "job",
        "status",
        "text",
        "flags",
        "passed",
        "coverage",
        "created_at",
        "updated_at",
    )
    list_select_related = ("merchant",)
    actions = [approve_drafts, *REJECT_ACTIONS]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "merchant", "actor", "action", "sku", "field", "kind", "reason")
    list_filter = ("action", "reason", "kind", "merchant")
    search_fields = ("sku", "actor", "note")
    list_select_related = ("merchant",)
    date_hierarchy = "created_at"

    # The audit log is append-only: nobody edits or deletes history through the admin.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# contentgen may register its own CopyDraft admin; then only add the review actions to it.
if admin.site.is_registered(CopyDraft):
    existing = admin.site._registry[CopyDraft]
    existing.actions = [*(existing.actions or []), approve_drafts, *REJECT_ACTIONS]
else:
    admin.site.register(CopyDraft, CopyDraftAdmin)
