"""Sign-in (throttled) and invitation acceptance. Staff and key pages live in the dashboard."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from . import services
from .throttling import SignInThrottle


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses sign-in without checking the password once too many wrong passwords were given
    (`throttling.SignInThrottle`: per account, and per account from one client address)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not (username and self.cleaned_data.get("password")):
            return super().clean()  # a field is missing: no password is checked
        throttle = SignInThrottle(self.request, username)
        if not throttle.allow():
            raise ValidationError(
                "Too many failed sign-in attempts. Wait 15 minutes or reset your password.",
                code="throttled",
            )
        cleaned = super().clean()
        if self.get_user() is not None:
            throttle.succeeded()
        return cleaned


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
