from django.urls import path

from . import api, api_platforms

urlpatterns = [
    path("products", api.ProductListAPI.as_view(), name="api-products"),
    path("products/bulk", api.ProductBulkAPI.as_view(), name="api-products-bulk"),
    path("products/export.csv", api.ProductExportAPI.as_view(), name="api-products-export"),
    path("products/<str:sku>", api.ProductDetailAPI.as_view(), name="api-product"),
    path("products/<str:sku>/archive", api.ProductArchiveAPI.as_view(), name="api-product-archive"),
    path("products/<str:sku>/history", api.ProductHistoryAPI.as_view(), name="api-product-history"),
    path("imports", api.ImportAPI.as_view(), name="api-imports"),
    path("feeds", api_platforms.FeedListAPI.as_view(), name="api-feeds"),
    path(
        "feeds/google-merchant/report",
        api_platforms.FeedReportAPI.as_view(),
        name="api-feed-report",
    ),
    path(
        "exports/google-ads.csv",
        api_platforms.GoogleAdsExportAPI.as_view(),
        name="api-export-google-ads",
    ),
    path(
        "exports/google-ads/report",
        api_platforms.GoogleAdsReportAPI.as_view(),
        name="api-export-google-ads-report",
    ),
]
