from .api_urls import storefront_urlpatterns as urlpatterns  # noqa: F401
