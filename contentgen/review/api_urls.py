from django.urls import path

from . import api

urlpatterns = [
    path("review/drafts", api.DraftListAPI.as_view(), name="api-review-drafts"),
    path("review/drafts/bulk", api.DraftBulkAPI.as_view(), name="api-review-bulk"),
    path("review/drafts/<int:draft_id>", api.DraftDetailAPI.as_view(), name="api-review-draft"),
    path(
        "review/drafts/<int:draft_id>/approve",
        api.DraftApproveAPI.as_view(),
        name="api-review-approve",
    ),
    path(
        "review/drafts/<int:draft_id>/edit-approve",
        api.DraftEditApproveAPI.as_view(),
        name="api-review-edit-approve",
    ),
    path(
        "review/drafts/<int:draft_id>/reject",
        api.DraftRejectAPI.as_view(),
        name="api-review-reject",
    ),
    path(
        "review/drafts/<int:draft_id>/experiment",
        api.DraftExperimentAPI.as_view(),
        name="api-review-experiment",
    ),
    path("review/decisions", api.DecisionListAPI.as_view(), name="api-review-decisions"),
    path(
        "review/products/<str:sku>/history",
        api.CopyHistoryAPI.as_view(),
        name="api-review-history",
    ),
    path("review/products/<str:sku>/revert", api.CopyRevertAPI.as_view(), name="api-review-revert"),
]
