"""Dashboard pages for other platforms: importing a Shopify or WooCommerce export, and the
Export menu (platform CSVs, the Merchant Center feed, the Google Ads Editor file)."""

from __future__ import annotations

import io

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from merchandising.catalog import services as catalog_services
from merchandising.catalog import services_platforms
from merchandising.catalog.platforms import google_ads, google_merchant
from merchandising.catalog.selectors_platforms import (
    feed_token,
    listing_counts,
    products_for_channels,
)
from merchandising.jobs import selectors as jobs

from .forms import PlatformImportForm
from .views import Page

PLATFORMS = {"shopify": "Shopify", "woocommerce": "WooCommerce"}


class PlatformImportView(Page):
    template_name = "dashboard/catalog/import_platform.html"
    nav = "catalog"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=form or PlatformImportForm(),
            imports=jobs.jobs_recent(self.request.merchant, kind="catalog_import", limit=10),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = PlatformImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        content = upload.read()
        file_format = form.cleaned_data["format"]
        if file_format == "auto":
            file_format = services_platforms.import_format_detect(content)
        job = catalog_services.product_import_submit(
            merchant=request.merchant,
            data=content,
            filename=upload.name,
            partial=form.cleaned_data["partial"],
            user=request.user,
            format=file_format,
        )
        return redirect("dashboard:job", merchant_slug=request.merchant.slug, job_id=job.pk)


class ExportMenuView(Page):
    template_name = "dashboard/catalog/exports.html"
    nav = "catalog"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        feed = reverse(
            "feed-google-merchant",
            kwargs={"merchant_slug": merchant.slug, "token": feed_token(merchant)},
        )
        context.update(
            feed_url=self.request.build_absolute_uri(feed),
            platforms={
                key: f"{name} ({listing_counts(merchant).get(key, 0):,} products)"
                for key, name in PLATFORMS.items()
            },
        )
        return context


class PlatformExportView(Page):
    def get(self, request, *args, **kwargs):
        file_format = request.GET.get("format", "")
        if file_format not in PLATFORMS:
            raise Http404("No such platform.")
        out = io.StringIO()
        services_platforms.product_export_platform(
            merchant=request.merchant, format=file_format, out=out
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{request.merchant.slug}-{file_format}.csv"'
        )
        return response


class GoogleAdsExportView(Page):
    def get(self, request, *args, **kwargs):
        group_by = "product" if request.GET.get("group_by") == "product" else "category"
        out = io.StringIO()
        google_ads.write(
            products_for_channels(request.merchant),
            out,
            campaign=f"{request.merchant.name} - Search",
            group_by=group_by,
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{request.merchant.slug}-google-ads.csv"'
        )
        return response


class ChannelReportView(Page):
    """What the feed and the Ads export leave out, and why."""

    template_name = "dashboard/catalog/channel_report.html"
    nav = "catalog"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        feed = google_merchant.FeedSummary()
        for _ in google_merchant.write(
            products_for_channels(merchant), feed, title="", link="", description=""
        ):
            pass
        ads = google_ads.write(
            products_for_channels(merchant), io.StringIO(), campaign="", group_by="category"
        )
        context.update(feed=feed.as_dict(), ads=ads.as_dict())
        return context
