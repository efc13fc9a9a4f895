"""The API's JSON parser: DRF's, plus the checks of merchandising.inputs on every body (depth,
NUL, lone surrogates), so each API view gets them without code of its own."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers, serializers

from merchandising import inputs


def json_max_depth() -> int:
    return int(getattr(settings, "MERCHLAB_JSON_MAX_DEPTH", inputs.DEFAULT_JSON_MAX_DEPTH))


class CheckedJSONParser(parsers.JSONParser):
    """A body that is nested too deep or holds text that cannot be stored is a 400 naming the
    top-level field (``body`` for a list body) and the path inside it."""

    def parse(self, stream, media_type=None, parser_context=None):
        depth = json_max_depth()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ValidationError(
                {"body": [f"The JSON is nested deeper than {depth} levels of lists and objects."]}
            ) from None
        problem = inputs.json_problem(data, max_depth=depth)
        if problem is not None:
            raise exceptions.ValidationError({problem.field: [problem.message]})
        return data


class CheckedJSONField(serializers.JSONField):
    """A JSON value with the parser's checks, also when it arrives as text in a form field
    (multipart), where DRF's JSONField would decode it without a depth limit."""

    def to_internal_value(self, data):
        depth = json_max_depth()
        if self.binary or getattr(data, "is_json_string", False):
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            try:
                return inputs.json_loads(data, max_depth=depth)
            except inputs.JSONRefused as exc:
                raise serializers.ValidationError(
                    exc.problem.message if exc.problem else str(exc)
                ) from None
        problem = inputs.json_problem(data, max_depth=depth)
        if problem is not None:
            raise serializers.ValidationError(problem.message)
        return super().to_internal_value(data)
