"""Dashboard pages, all under /m/<merchant_slug>/. Each area keeps its own list below."""

from django.urls import include, path

from . import views, views_content, views_experiments, views_platforms, views_segments
from . import views_recommendations as recommendations
from .views_finetune import finetune_urls
from .views_review import review_urls

app_name = "dashboard"

catalog_urls = [
    path("", views.HomeView.as_view(), name="home"),
    path("catalog/", views.ProductListView.as_view(), name="products"),
    path("catalog/export.csv", views.ExportView.as_view(), name="export"),
    path("catalog/bulk/", views.ProductBulkView.as_view(), name="products-bulk"),
    path("catalog/import/", views.ImportView.as_view(), name="import"),
    path(
        "catalog/import/platform/",
        views_platforms.PlatformImportView.as_view(),
        name="import-platform",
    ),
    path("catalog/exports/", views_platforms.ExportMenuView.as_view(), name="exports"),
    path(
        "catalog/exports/report/",
        views_platforms.ChannelReportView.as_view(),
        name="exports-report",
    ),
    path(
        "catalog/exports/google-ads.csv",
        views_platforms.GoogleAdsExportView.as_view(),
        name="export-google-ads",
    ),
    path(
        "catalog/exports/platform.csv",
        views_platforms.PlatformExportView.as_view(),
        name="export-platform",
    ),
    path("catalog/<int:product_id>/", views.ProductDetailView.as_view(), name="product"),
    path(
        "catalog/<int:product_id>/revert/<int:revision_id>/",
        views.CopyRevertView.as_view(),
        name="copy-revert",
    ),
    path("jobs/", views.JobListView.as_view(), name="jobs"),
    path("jobs/<int:job_id>/", views.JobDetailView.as_view(), name="job"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
    path(
        "jobs/<int:job_id>/import-valid/",
        views.ImportValidRowsView.as_view(),
        name="job-import-valid",
    ),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/staff/", views.StaffView.as_view(), name="staff"),
    path(
        "settings/staff/<int:membership_id>/", views.StaffChangeView.as_view(), name="staff-change"
    ),
    path("settings/keys/", views.ApiKeysView.as_view(), name="keys"),
]

# Sections filled by later work. Replace a placeholder line with the area's own views.
content_urls = [
    path("content/", views_content.ContentHomeView.as_view(), name="content"),
    path(
        "content/generations/<int:job_id>/",
        views_content.GenerationJobView.as_view(),
        name="content-job",
    ),
    path("content/drafts/", views_content.DraftListView.as_view(), name="content-drafts"),
    path("content/pick/", views_content.ProductPickerView.as_view(), name="content-pick"),
    path("content/voice/", views_content.BrandVoiceView.as_view(), name="content-voice"),
]
recommendation_urls = [
    path("recommendations/", recommendations.RecommendationsView.as_view(), name="recommendations"),
    path("recommendations/widget/", recommendations.WidgetView.as_view(), name="widget"),
    path(
        "recommendations/placements/new/",
        recommendations.PlacementEditView.as_view(),
        name="placement-new",
    ),
    path(
        "recommendations/placements/<int:placement_id>/",
        recommendations.PlacementEditView.as_view(),
        name="placement",
    ),
    path(
        "recommendations/preview/",
        recommendations.PlacementPreviewView.as_view(),
        name="placement-preview",
    ),
    path(
        "recommendations/models/",
        recommendations.ModelVersionsView.as_view(),
        name="model-versions",
    ),
    path(
        "recommendations/report/",
        recommendations.PlacementReportView.as_view(),
        name="placement-report",
    ),
]
experiment_urls = [
    path("experiments/", views_experiments.ExperimentListView.as_view(), name="experiments"),
    path(
        "experiments/new/",
        views_experiments.ExperimentCreateView.as_view(),
        name="experiment-create",
    ),
    path(
        "experiments/new/from-drafts/",
        views_experiments.ExperimentFromDraftsView.as_view(),
        name="experiment-from-drafts",
    ),
    path(
        "experiments/<int:experiment_id>/",
        views_experiments.ExperimentDetailView.as_view(),
        name="experiment",
    ),
    path(
        "experiments/<int:experiment_id>/daily.csv",
        views_experiments.ExperimentDailyCSVView.as_view(),
        name="experiment-daily",
    ),
    path(
        "experiments/<int:experiment_id>/segments.csv",
        views_experiments.ExperimentSegmentsCSVView.as_view(),
        name="experiment-segments",
    ),
    path(
        "experiments/<int:experiment_id>/<slug:action>/",
        views_experiments.ExperimentActionView.as_view(),
        name="experiment-action",
    ),
]
segment_urls = [
    path("segments/", views_segments.SegmentListView.as_view(), name="segments"),
    path(
        "segments/discover/", views_segments.SegmentDiscoverView.as_view(), name="segments-discover"
    ),
    path("segments/rules/", views_segments.RuleSegmentCreateView.as_view(), name="segments-rule"),
    path("segments/merge/", views_segments.SegmentMergeView.as_view(), name="segments-merge"),
    path("segments/privacy/", views_segments.PrivacyView.as_view(), name="segments-privacy"),
    path("segments/<int:segment_id>/", views_segments.SegmentDetailView.as_view(), name="segment"),
    path(
        "segments/<int:segment_id>/rename/",
        views_segments.SegmentRenameView.as_view(),
        name="segment-rename",
    ),
    path(
        "segments/<int:segment_id>/archive/",
        views_segments.SegmentArchiveView.as_view(),
        name="segment-archive",
    ),
    path("visitors/", views_segments.VisitorView.as_view(), name="visitor-search"),
    path("visitors/<str:visitor_id>/", views_segments.VisitorView.as_view(), name="visitor"),
    path(
        "visitors/<str:visitor_id>/erase/",
        views_segments.VisitorEraseView.as_view(),
        name="visitor-erase",
    ),
]

urlpatterns = [
    path("", views.MerchantPickerView.as_view(), name="pick"),
    path(
        "m/<slug:merchant_slug>/",
        include(
            catalog_urls
            + content_urls
            + review_urls
            + finetune_urls
            + recommendation_urls
            + experiment_urls
            + segment_urls
        ),
    ),
]
