"""Dashboard pages, all under /m/<merchant_slug>/. Each area keeps its own list below."""

from django.urls import include, path

from . import views, views_experiments

app_name = "dashboard"

catalog_urls = [
    path("", views.HomeView.as_view(), name="home"),
    path("catalog/", views.ProductListView.as_view(), name="products"),
    path("catalog/export.csv", views.ExportView.as_view(), name="export"),
    path("catalog/import/", views.ImportView.as_view(), name="import"),
    path("catalog/<int:product_id>/", views.ProductDetailView.as_view(), name="product"),
    path(
        "catalog/<int:product_id>/revert/<int:revision_id>/",
        views.CopyRevertView.as_view(),
        name="copy-revert",
    ),
    path("jobs/", views.JobListView.as_view(), name="jobs"),
    path("jobs/<int:job_id>/", views.JobDetailView.as_view(), name="job"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/staff/", views.StaffView.as_view(), name="staff"),
    path(
        "settings/staff/<int:membership_id>/", views.StaffChangeView.as_view(), name="staff-change"
    ),
    path("settings/keys/", views.ApiKeysView.as_view(), name="keys"),
]

# Sections filled by later work. Replace a placeholder line with the area's own views.
content_urls = [
    path(
        "content/",
        views.ComingSoonView.as_view(
            nav="content",
            section="Content",
            blurb="Generate product copy with the brand voice and review drafts.",
        ),
        name="content",
    ),
]
recommendation_urls = [
    path(
        "recommendations/",
        views.ComingSoonView.as_view(
            nav="recommendations",
            section="Recommendations",
            blurb="Placements, model versions and their reports.",
        ),
        name="recommendations",
    ),
]
experiment_urls = [
    path("experiments/", views_experiments.ExperimentListView.as_view(), name="experiments"),
    path("experiments/new/", views_experiments.ExperimentCreateView.as_view(), name="experiment-create"),
    path("experiments/<int:experiment_id>/", views_experiments.ExperimentDetailView.as_view(), name="experiment"),
    path(
        "experiments/<int:experiment_id>/daily.csv",
        views_experiments.ExperimentDailyCSVView.as_view(),
        name="experiment-daily",
    ),
    path(
        "experiments/<int:experiment_id>/<slug:action>/",
        views_experiments.ExperimentActionView.as_view(),
        name="experiment-action",
    ),
]
segment_urls = [
    path(
        "segments/",
        views.ComingSoonView.as_view(
            nav="segments", section="Segments", blurb="Shopper segments mined from behaviour."
        ),
        name="segments",
    ),
]

urlpatterns = [
    path("", views.MerchantPickerView.as_view(), name="pick"),
    path(
        "m/<slug:merchant_slug>/",
        include(catalog_urls + content_urls + recommendation_urls + experiment_urls + segment_urls),
    ),
]
