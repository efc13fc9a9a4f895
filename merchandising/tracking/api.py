"""Storefront event API: ``POST /api/v1/storefront/events`` and visitor linking."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from merchandising.accounts.api_base import StorefrontAPIView

from . import services
from .models import MAX_VISITOR_ID, EventType

EVENT_SCHEMA = inline_serializer(
    "StorefrontEvent",
    {
        "event_id": serializers.CharField(
            help_text="Unique per merchant; a retried event is stored once"
        ),
        "type": serializers.ChoiceField(choices=EventType.choices),
        "visitor_id": serializers.CharField(max_length=MAX_VISITOR_ID),
        "sku": serializers.CharField(required=False),
        "ts": serializers.CharField(
            required=False,
            help_text="ISO 8601 or unix seconds; default now. At most a day ahead and "
            "MERCHLAB_EVENT_MAX_AGE_DAYS (default 400) days back.",
        ),
        "value": serializers.FloatField(required=False),
        "placement": serializers.CharField(required=False),
        "request_id": serializers.CharField(required=False),
        "device": serializers.CharField(required=False),
        "country": serializers.CharField(required=False),
    },
)
EVENTS_REQUEST = inline_serializer(
    "StorefrontEventBatch", {"events": serializers.ListField(child=EVENT_SCHEMA, max_length=500)}
)
EVENTS_RESPONSE = inline_serializer(
    "StorefrontEventResult",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField()),
        "unknown_skus": serializers.DictField(),
    },
)
LINK = inline_serializer(
    "VisitorLink",
    {
        "anonymous_id": serializers.CharField(max_length=MAX_VISITOR_ID),
        "visitor_id": serializers.CharField(max_length=MAX_VISITOR_ID),
    },
)


class StorefrontEventsAPI(StorefrontAPIView):
    """Body: ``{"events": [...]}`` (or a bare list), at most 500 events.

    Answer: ``{"accepted", "duplicates", "errors": [{"index", "field", "message"}],
    "unknown_skus": {"count", "skus"}}``; 200 when at least one event was valid (or all were
    duplicates), 400 when every event was refused.
    """

    # A 400 is either the per-event result (every event refused) or a malformed batch
    # ({"detail", "errors"}), so it is documented as an object.
    @extend_schema(request=EVENTS_REQUEST, responses={200: EVENTS_RESPONSE, 400: dict})
    def post(self, request):
        data = request.data
        events = data.get("events") if isinstance(data, dict) else data
        if not isinstance(events, list):
            raise exceptions.ValidationError({"events": ["Send a list of events."]})
        try:
            result = services.events_ingest(
                merchant=request.merchant, events=events, max_age=services.storefront_max_age()
            )
        except services.BatchTooLarge as exc:
            raise exceptions.ValidationError({"events": [str(exc)]}) from exc
        code = status.HTTP_400_BAD_REQUEST if events and len(result.errors) == len(events) else 200
        return Response(result.as_dict(), status=code)


class StorefrontVisitorLinkAPI(StorefrontAPIView):
    """``{"anonymous_id", "visitor_id"}``: the anonymous visitor signed in as ``visitor_id``."""

    @extend_schema(request=LINK, responses=LINK)
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        errors = {}
        for name in ("anonymous_id", "visitor_id"):
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                errors[name] = ["This field is required."]
            elif len(value) > MAX_VISITOR_ID:
                errors[name] = [f"Ensure this field has no more than {MAX_VISITOR_ID} characters."]
        if errors:
            raise exceptions.ValidationError(errors)
        link = services.visitor_link(
            merchant=request.merchant,
            anonymous_id=data["anonymous_id"],
            visitor_id=data["visitor_id"],
        )
        return Response({"anonymous_id": link.anonymous_id, "visitor_id": link.visitor_id})
