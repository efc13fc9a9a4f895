from django.urls import path

from . import api

urlpatterns = [
    path("products/<str:sku>", api.StorefrontProductAPI.as_view(), name="storefront-product"),
]
