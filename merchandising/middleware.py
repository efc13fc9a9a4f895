"""Request hygiene shared by every route."""

from __future__ import annotations

import json

from django.http import JsonResponse

_WRITE_METHODS = ("POST", "PUT", "PATCH")


class RejectNulMiddleware:
    """Answer 400, naming the field, when a query parameter or a JSON body carries a NUL character.

    PostgreSQL cannot store NUL in text or JSON, so such input would otherwise fail deep in a
    query as a server error; nothing a merchant or a shop sends legitimately contains it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return _refuse(
                    name.replace("\x00", ""), "The query parameter contains a NUL character."
                )
        if request.method in _WRITE_METHODS and request.content_type == "application/json":
            body = request.body
            if b"\x00" in body or b"\\u0000" in body:
                field = _field_with_nul(body)
                if field is not None:
                    return _refuse(
                        field, "Contains a NUL character (\\u0000), which cannot be stored."
                    )
        return self.get_response(request)


def _refuse(field: str, message: str) -> JsonResponse:
    return JsonResponse({"detail": f"{field}: {message}", "errors": {field: [message]}}, status=400)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _field_with_nul(body: bytes) -> str | None:
    """The top-level field whose value holds a NUL, "body" for other shapes, None when the body
    is not JSON (the parser then answers with its own 400)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            if _has_nul(key) or _has_nul(value):
                return key.replace("\x00", "")
        return None
    return "body" if _has_nul(data) else None
