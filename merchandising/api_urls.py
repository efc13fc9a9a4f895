"""Every REST route under /api/v1/. Each app keeps its own `api_urls`; storefront routes live
under /api/v1/storefront/ and take a publishable key."""

from django.urls import include, path

urlpatterns = [
    path("storefront/", include("merchandising.storefront.api_urls")),
    path("storefront/", include("merchandising.tracking.api_urls")),
    path("storefront/", include("merchandising.experiments.storefront_urls")),
    path("", include("merchandising.experiments.api_urls")),
    path("", include("merchandising.catalog.api_urls")),
    path("", include("recsys.segments.api_urls")),
    path("", include("recsys.api_urls")),
    path("", include("merchandising.jobs.api_urls")),
    path("", include("contentgen.api_urls")),
    path("", include("contentgen.review.api_urls")),
    path("", include("contentgen.finetuning.api_urls")),
    path("", include("merchandising.accounts.api_urls")),
]
