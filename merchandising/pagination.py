"""Paging parameters of the API, checked: a ``limit`` or ``offset`` that is not a whole number in
its range is a 400 naming it (DRF's own paginators quietly fall back to defaults, and a negative
or huge value could reach the database)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from merchandising.inputs import DB_INT_MAX


def query_int(request, name: str, *, lo: int, hi: int, default: int) -> int:
    """The query parameter ``name`` as a whole number in ``lo..hi``; absent or empty: ``default``."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 12:
        raise exceptions.ValidationError({name: [f"A whole number from {lo} to {hi}."]})
    value = int(raw)
    if not lo <= value <= hi:
        raise exceptions.ValidationError({name: [f"A whole number from {lo} to {hi}."]})
    return value


def _bounded(parameters: list[dict], bounds: dict[str, tuple[int, int]]) -> list[dict]:
    for parameter in parameters:
        if parameter.get("name") in bounds:
            lo, hi = bounds[parameter["name"]]
            parameter["schema"] = {**parameter.get("schema", {}), "minimum": lo, "maximum": hi}
    return parameters


class CheckedLimitOffsetPagination(LimitOffsetPagination):
    """``limit`` 1..max_limit, ``offset`` 0..DB_INT_MAX."""

    default_limit = 100
    max_limit = 500

    def get_limit(self, request) -> int:
        return query_int(
            request, self.limit_query_param, lo=1, hi=self.max_limit, default=self.default_limit
        )

    def get_offset(self, request) -> int:
        return query_int(request, self.offset_query_param, lo=0, hi=DB_INT_MAX, default=0)

    def get_schema_operation_parameters(self, view):
        return _bounded(
            super().get_schema_operation_parameters(view),
            {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, DB_INT_MAX)},
        )


class CheckedCursorPagination(CursorPagination):
    """``limit`` (the page size) 1..max_page_size."""

    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        return query_int(
            request, self.page_size_query_param, lo=1, hi=self.max_page_size, default=self.page_size
        )

    def get_schema_operation_parameters(self, view):
        return _bounded(
            super().get_schema_operation_parameters(view),
            {self.page_size_query_param: (1, self.max_page_size)},
        )
