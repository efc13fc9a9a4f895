from django.urls import path

from contentgen import api

urlpatterns = [
    path("generation-jobs", api.GenerationJobsAPI.as_view(), name="api-generation-jobs"),
    path("brand-voice", api.BrandVoiceAPI.as_view(), name="api-brand-voice"),
]
