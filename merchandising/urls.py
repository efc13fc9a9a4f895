from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from merchandising.accounts import views as account_views
from merchandising.catalog import api_platforms as catalog_feeds
from merchandising.demo import views as demo_views
from merchandising.storefront import views as storefront_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", account_views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "invitations/<str:token>/",
        account_views.InvitationAcceptView.as_view(),
        name="invitation_accept",
    ),
    path("demo/images/<str:name>", demo_views.placeholder_image, name="demo-image"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("merchandising.api_urls")),
    path(
        "feeds/<slug:merchant_slug>/<str:token>/google-merchant.xml",
        catalog_feeds.google_merchant_feed,
        name="feed-google-merchant",
    ),
    path(
        "storefront-demo/<slug:merchant_slug>/",
        storefront_views.DemoStorefrontView.as_view(),
        name="storefront-demo",
    ),
    path("", include("merchandising.dashboard.urls")),
]
