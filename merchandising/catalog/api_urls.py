from django.urls import path

from . import api

urlpatterns = [
    path("products", api.ProductListAPI.as_view(), name="api-products"),
    path("products/bulk", api.ProductBulkAPI.as_view(), name="api-products-bulk"),
    path("products/export.csv", api.ProductExportAPI.as_view(), name="api-products-export"),
    path("products/<str:sku>", api.ProductDetailAPI.as_view(), name="api-product"),
    path("products/<str:sku>/archive", api.ProductArchiveAPI.as_view(), name="api-product-archive"),
    path("products/<str:sku>/history", api.ProductHistoryAPI.as_view(), name="api-product-history"),
    path("imports", api.ImportAPI.as_view(), name="api-imports"),
]
