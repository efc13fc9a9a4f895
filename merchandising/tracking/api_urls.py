"""Storefront tracking routes (mounted under /api/v1/storefront/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("events", api.StorefrontEventsAPI.as_view(), name="storefront-events"),
    path("visitors/link", api.StorefrontVisitorLinkAPI.as_view(), name="storefront-visitor-link"),
]
