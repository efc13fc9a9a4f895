from django.urls import path

from recsys import api

urlpatterns = [
    path("recommender/versions", api.ModelVersionListAPI.as_view(), name="api-model-versions"),
    path(
        "recommender/versions/rollback",
        api.ModelVersionRollbackAPI.as_view(),
        name="api-model-versions-rollback",
    ),
    path(
        "recommender/versions/<int:model_version_id>",
        api.ModelVersionDetailAPI.as_view(),
        name="api-model-version",
    ),
    path(
        "recommender/versions/<int:model_version_id>/activate",
        api.ModelVersionActivateAPI.as_view(),
        name="api-model-version-activate",
    ),
]
