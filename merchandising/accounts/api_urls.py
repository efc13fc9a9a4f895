from django.urls import path

from . import api

urlpatterns = [path("me", api.MeAPI.as_view(), name="api-me")]
