from rest_framework import serializers

from .models import Job


class JobSerializer(serializers.ModelSerializer):
    jobs_ahead = serializers.SerializerMethodField(
        help_text="For a queued job: unfinished jobs (of any shop) ahead of it on its worker."
    )

    def get_jobs_ahead(self, job) -> int | None:
        return getattr(job, "jobs_ahead", None)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "error",
            "cancel_requested",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "jobs_ahead",
        ]
        read_only_fields = fields
