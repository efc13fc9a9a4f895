from django.urls import path

from . import api

urlpatterns = [
    path("segments", api.SegmentListAPI.as_view(), name="api-segments"),
    path("segments/discover", api.SegmentDiscoverAPI.as_view(), name="api-segments-discover"),
    path("segments/rules", api.RuleSegmentAPI.as_view(), name="api-segments-rules"),
    path("segments/merge", api.SegmentMergeAPI.as_view(), name="api-segments-merge"),
    path("segments/<int:segment_id>", api.SegmentDetailAPI.as_view(), name="api-segment"),
    path("visitors/<str:visitor_id>", api.VisitorAPI.as_view(), name="api-visitor"),
    path("privacy", api.PrivacyAPI.as_view(), name="api-privacy"),
]
