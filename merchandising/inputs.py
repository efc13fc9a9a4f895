"""Checks every untrusted value goes through, whatever door it came in by. Pure Python, no Django.

- Text must be storable and renderable: no NUL (PostgreSQL cannot store it) and no lone UTF-16
  surrogate (``"\\ud800"`` is valid JSON but not valid Unicode: it cannot be encoded as UTF-8, so
  the database, the JSON renderer and the CSV export would all fail on it later).
- JSON documents are nested at most ``max_depth`` containers deep (deeper ones are refused before
  any code recurses over them).
- Integers that reach an ``integer`` column fit in 32 bits (PostgreSQL's ``integer``).

See docs/input-limits.md for the limits as a merchant or a shop meets them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

DB_INT_MAX = 2**31 - 1  # PostgreSQL `integer` (Django IntegerField and AutoField ids)
DEFAULT_JSON_MAX_DEPTH = 32


@dataclass(frozen=True)
class InputProblem:
    """Where a value is bad (``path`` such as ``attributes.color`` or ``events[3].sku``; ``field``
    is its first part, the name an API error is filed under) and why."""

    field: str
    path: str
    message: str


def db_ids(values) -> list[int]:
    """The values that are ids a database row can have (whole numbers 1..DB_INT_MAX, as ints or
    decimal text, such as a form's checkboxes send); the others are left out."""
    ids: list[int] = []
    for value in values:
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= DB_INT_MAX:
            ids.append(int(text))
    return ids


def printable(value: str, limit: int = 60) -> str:
    """``value`` shortened and with lone surrogates written as ``\\udXXX``, safe to put in an
    error message (which is itself rendered as UTF-8)."""
    short = value if len(value) <= limit else value[:limit] + "..."
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        return (
            f"contains a lone UTF-16 surrogate ({printable(bad)}) at character {exc.start + 1}, "
            "which is not valid Unicode text"
        )
    return None


def _path(parts: tuple) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = printable(str(part))
            out += f".{name}" if out else name
    return out


def _walk(value, max_depth: int) -> Iterator[tuple[tuple, object, int]]:
    """(path, item, depth) for every container, key and scalar, without recursion."""
    stack: list[tuple[tuple, object, int]] = [((), value, 0)]
    while stack:
        path, item, depth = stack.pop()
        yield path, item, depth
        if depth >= max_depth:
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                yield (*path, key), _Key(key), depth
                stack.append(((*path, key), child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend(((*path, i), child, depth + 1) for i, child in enumerate(item))


class _Key(str):
    """Marks a dict key in the walk (a bad key is reported as the name, not the value)."""


def json_problem(value, *, max_depth: int = DEFAULT_JSON_MAX_DEPTH) -> InputProblem | None:
    """The first problem in a decoded JSON document: containers nested deeper than
    ``max_depth``, or a key or string that :func:`text_problem` refuses."""
    for path, item, depth in _walk(value, max_depth):
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                what = "The name" if isinstance(item, _Key) else "The value"
                if isinstance(item, _Key):
                    problem = f"{what} {printable(item)!s} {problem}"
                else:
                    problem = f"{what} {problem}"
                return _problem(path, problem)
        elif isinstance(item, dict | list | tuple) and depth >= max_depth:
            return _problem(path, f"is nested deeper than {max_depth} levels of lists and objects")
    return None


def _problem(path: tuple, message: str) -> InputProblem:
    field = printable(str(path[0])) if path and not isinstance(path[0], int) else "body"
    where = _path(path) or "the body"
    return InputProblem(field=field, path=where, message=f"{message} (at {where}).")


class JSONRefused(ValueError):
    """The text is not acceptable JSON: the message says why, ``problem`` where when known."""

    def __init__(self, message: str, problem: InputProblem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


def json_loads(text: str | bytes, *, max_depth: int = DEFAULT_JSON_MAX_DEPTH, **kwargs):
    """``json.loads`` that refuses (JSONRefused) documents nested deeper than ``max_depth`` and
    text that cannot be stored (NUL, lone surrogates), instead of recursing until the
    interpreter's limit or storing what later fails. Malformed JSON raises JSONRefused too."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONRefused(
            f"the JSON is nested deeper than {max_depth} levels of lists and objects."
        ) from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(
            f"not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:
        raise JSONRefused(f"not valid JSON ({exc}).") from None
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        raise JSONRefused(f"{problem.field}: {problem.message}", problem)
    return value
