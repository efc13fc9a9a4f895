from django.urls import path

from . import api, api_recommendations

urlpatterns = [
    path("products/<str:sku>", api.StorefrontProductAPI.as_view(), name="storefront-product"),
    path(
        "recommendations",
        api_recommendations.RecommendationsAPI.as_view(),
        name="storefront-recommendations",
    ),
]
