"""Sign-in (throttled) and invitation acceptance. Staff and key pages live in the dashboard."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from . import services

# Wrong passwords allowed before sign-in is refused for LOGIN_LOCK_SECONDS, counted three ways:
# one account from one address, one account from anywhere (a distributed guess), and one address
# across accounts (password spraying).
LOGIN_LIMITS = {"account_address": 5, "account": 20, "address": 30}
LOGIN_LOCK_SECONDS = 15 * 60


def _failure_keys(request, username: str) -> dict[str, str]:
    ip = request.META.get("REMOTE_ADDR", "")
    name = username.strip().lower()
    return {
        "account_address": f"login-failures:{name}:{ip}",
        "account": f"login-failures:account:{name}",
        "address": f"login-failures:address:{ip}",
    }


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses sign-in without checking the password once too many wrong passwords were given
    (LOGIN_LIMITS) within LOGIN_LOCK_SECONDS."""

    def clean(self):
        keys = _failure_keys(self.request, self.data.get("username", ""))
        counts = cache.get_many(list(keys.values()))
        if any(counts.get(key, 0) >= LOGIN_LIMITS[kind] for kind, key in keys.items()):
            raise ValidationError(
                "Too many failed sign-in attempts. Wait 15 minutes or reset your password.",
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError:
            for key in keys.values():
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, LOGIN_LOCK_SECONDS)
            raise


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)


class InvitationAcceptView(View):
    template_name = "registration/invitation_accept.html"

    def get(self, request, token: str):
        invitation = services.invitation_lookup(token=token)
        return render(request, self.template_name, {"invitation": invitation, "form": AcceptForm()})

    def post(self, request, token: str):
        invitation = services.invitation_lookup(token=token)
        if invitation is None:
            return render(request, self.template_name, {"invitation": None, "form": AcceptForm()})
        user = request.user if request.user.is_authenticated else None
        form = AcceptForm(request.POST)
        if user is None:
            if not form.is_valid():
                return render(request, self.template_name, {"invitation": invitation, "form": form})
            try:
                user = services.user_create(
                    username=form.cleaned_data["username"],
                    email=invitation.email,
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                return render(request, self.template_name, {"invitation": invitation, "form": form})
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.invitation_accept(token=token, user=user)
        messages.success(request, f"Welcome to {invitation.merchant.name}.")
        return redirect("dashboard:home", merchant_slug=invitation.merchant.slug)
