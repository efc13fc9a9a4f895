"""Request hygiene shared by every route."""

from __future__ import annotations

from django.http import JsonResponse


class RejectNulMiddleware:
    """Answer 400, naming the parameter, when a query parameter carries a NUL character.

    PostgreSQL cannot store NUL in text or JSON, so such input would otherwise fail deep in a
    query as a server error; nothing a merchant or a shop sends legitimately contains it. JSON
    bodies get the same check (and more) in the API's parser, merchandising.parsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return _refuse(
                    name.replace("\x00", ""), "The query parameter contains a NUL character."
                )
        return self.get_response(request)


def _refuse(field: str, message: str) -> JsonResponse:
    return JsonResponse({"detail": f"{field}: {message}", "errors": {field: [message]}}, status=400)
