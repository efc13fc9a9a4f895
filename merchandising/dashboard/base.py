"""The one place where dashboard pages are tied to a merchant.

Every page lives under /m/<merchant_slug>/ and subclasses MerchantPageMixin, which resolves the
signed-in user's membership once: a merchant you do not belong to is a 404 (its existence is not
revealed), and a role without the needed right is a 403.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from contentgen.selectors import drafts_pending_count
from merchandising.accounts.models import role_allows
from merchandising.accounts.selectors import membership_for, memberships_for_user

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class MerchantPageMixin(LoginRequiredMixin):
    required_role = "read"  # for GET
    write_role = "editor"  # for POST and other writes
    nav = ""  # which navigation entry is highlighted

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = membership_for(request.user, kwargs.get("merchant_slug", ""))
        if membership is None:
            raise Http404("No such merchant.")
        request.merchant = membership.merchant
        request.membership = membership
        request.role = membership.role
        needed = self.required_role if request.method in SAFE_METHODS else self.write_role
        if not role_allows(membership.role, needed):
            raise PermissionDenied(f"Your role ({membership.role}) cannot do this.")
        if request.session.get("merchant_slug") != membership.merchant.slug:
            request.session["merchant_slug"] = membership.merchant.slug
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            merchant=self.request.merchant,
            role=self.request.role,
            nav=self.nav,
            memberships=memberships_for_user(self.request.user),
            can=lambda right: role_allows(self.request.role, right),
            can_edit=role_allows(self.request.role, "editor"),
            can_review=role_allows(self.request.role, "reviewer"),
            is_owner=role_allows(self.request.role, "owner"),
            drafts_waiting=drafts_pending_count(self.request.merchant),
        )
        return context
