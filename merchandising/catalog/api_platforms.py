"""Merchant API for other channels: the Google Merchant Center feed (its addresses, its report
and the feed itself, which Merchant Center fetches with the secret token in the address) and the
Google Ads Editor export."""

from __future__ import annotations

import io

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantGenericAPIView

from .platforms import google_ads, google_merchant
from .selectors_platforms import feed_token, merchant_by_feed_token, products_for_channels


def feed_path(merchant) -> str:
    return reverse(
        "feed-google-merchant",
        kwargs={"merchant_slug": merchant.slug, "token": feed_token(merchant)},
    )


def _feed_chunks(merchant, summary: google_merchant.FeedSummary):
    origins = merchant.storefront_origins or []
    return google_merchant.write(
        products_for_channels(merchant),
        summary,
        title=f"{merchant.name} products",
        link=origins[0] if origins else "",
        description=f"Products of {merchant.name}, with their live copy from Merchlab.",
    )


class FeedListAPI(MerchantGenericAPIView):
    """The merchant's feeds: each address carries its secret token, so Merchant Center can fetch
    it on a schedule without other authentication. Keep the address private."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        url = request.build_absolute_uri(feed_path(request.merchant))
        return Response(
            {
                "feeds": [
                    {
                        "name": "google-merchant",
                        "title": "Google Merchant Center product feed (RSS 2.0)",
                        "url": url,
                        "download_url": f"{url}?download=1",
                        "report_url": request.build_absolute_uri(reverse("api-feed-report")),
                    }
                ]
            }
        )


class FeedReportAPI(MerchantGenericAPIView):
    """How many products the feed lists, and which it leaves out and why."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        summary = google_merchant.FeedSummary()
        for _ in _feed_chunks(request.merchant, summary):
            pass
        return Response(summary.as_dict())


@require_GET
def google_merchant_feed(request, merchant_slug: str, token: str):
    """The feed itself; a wrong token is a 404, like a feed that does not exist."""
    merchant = merchant_by_feed_token(merchant_slug, token)
    if merchant is None:
        raise Http404("No such feed.")
    summary = google_merchant.FeedSummary()
    response = StreamingHttpResponse(
        (chunk.encode() for chunk in _feed_chunks(merchant, summary)),
        content_type="application/rss+xml; charset=utf-8",
    )
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="{merchant.slug}-google-merchant.xml"'
        )
    response["Cache-Control"] = "private, no-store"
    return response


class AdsExportQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=["category", "product"], default="category")
    campaign = serializers.CharField(max_length=255, required=False, allow_blank=False)


class GoogleAdsExportAPI(MerchantGenericAPIView):
    """Approved ad copy as responsive search ads in a Google Ads Editor CSV. Products without
    enough approved headlines (3) and descriptions (2) within the limits are left out; the count
    is in the X-Left-Out header and the reasons at /api/v1/exports/google-ads/report."""

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", str, enum=["category", "product"]),
            OpenApiParameter("campaign", str),
        ],
        responses={(200, "text/csv"): str},
    )
    def get(self, request):
        out, summary = _ads(request)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{request.merchant.slug}-google-ads.csv"'
        )
        response["X-Left-Out"] = str(len(summary.left_out))
        return response


class GoogleAdsReportAPI(MerchantGenericAPIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        _, summary = _ads(request)
        return Response(summary.as_dict())


def _ads(request):
    query = AdsExportQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    merchant = request.merchant
    out = io.StringIO()
    summary = google_ads.write(
        products_for_channels(merchant),
        out,
        campaign=query.validated_data.get("campaign") or f"{merchant.name} - Search",
        group_by=query.validated_data["group_by"],
    )
    return out, summary
