from django.urls import path

from . import api

urlpatterns = [
    path("jobs", api.JobListAPI.as_view(), name="api-jobs"),
    path("jobs/<int:job_id>", api.JobDetailAPI.as_view(), name="api-job"),
    path("jobs/<int:job_id>/cancel", api.JobCancelAPI.as_view(), name="api-job-cancel"),
]
