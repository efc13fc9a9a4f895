from django.urls import path

from contentgen.finetuning import api

urlpatterns = [
    path("finetune/data", api.TrainingDataAPI.as_view(), name="api-finetune-data"),
    path("finetuning/past-copy", api.PastCopyAPI.as_view(), name="api-finetuning-past-copy"),
    path("adapters", api.AdaptersAPI.as_view(), name="api-adapters"),
    path("adapters/active", api.ActiveAdapterAPI.as_view(), name="api-adapters-active"),
    path("adapters/rollback", api.AdapterRollbackAPI.as_view(), name="api-adapters-rollback"),
    path("adapters/<int:adapter_id>", api.AdapterDetailAPI.as_view(), name="api-adapter"),
    path(
        "adapters/<int:adapter_id>/activate",
        api.AdapterActivateAPI.as_view(),
        name="api-adapter-activate",
    ),
]
