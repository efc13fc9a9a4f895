from django.urls import path

from . import api

urlpatterns = [
    path("experiments", api.ExperimentListAPI.as_view(), name="api-experiments"),
    path(
        "experiments/<int:experiment_id>", api.ExperimentDetailAPI.as_view(), name="api-experiment"
    ),
    path(
        "experiments/<int:experiment_id>/start",
        api.ExperimentActionAPI.as_view(action_name="start"),
        name="api-experiment-start",
    ),
    path(
        "experiments/<int:experiment_id>/pause",
        api.ExperimentActionAPI.as_view(action_name="pause"),
        name="api-experiment-pause",
    ),
    path(
        "experiments/<int:experiment_id>/stop",
        api.ExperimentActionAPI.as_view(action_name="stop"),
        name="api-experiment-stop",
    ),
    path(
        "experiments/<int:experiment_id>/weights",
        api.ExperimentWeightsAPI.as_view(),
        name="api-experiment-weights",
    ),
    path(
        "experiments/<int:experiment_id>/ship",
        api.ExperimentShipAPI.as_view(),
        name="api-experiment-ship",
    ),
    path(
        "experiments/<int:experiment_id>/results",
        api.ExperimentResultsAPI.as_view(),
        name="api-experiment-results",
    ),
    path(
        "experiments/<int:experiment_id>/daily.csv",
        api.ExperimentDailyCSVAPI.as_view(),
        name="api-experiment-daily",
    ),
    path(
        "experiments/<int:experiment_id>/segments.csv",
        api.ExperimentSegmentsCSVAPI.as_view(),
        name="api-experiment-segments",
    ),
]

# Mounted under /api/v1/storefront/ by merchandising/api_urls.py.
storefront_urlpatterns = [
    path("assignments", api.StorefrontAssignmentsAPI.as_view(), name="storefront-assignments"),
]
