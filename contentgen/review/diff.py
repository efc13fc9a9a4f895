"""Word-level diff between the live text and a draft (pure, no Django import).

The review queue shows what a draft would change: words removed from the live text and words
the draft adds. Texts are split into tokens that keep their whitespace (so joining the tokens of
one side gives that text back exactly) and compared with :class:`difflib.SequenceMatcher`, which
finds the longest matching blocks in the style of Ratcliff and Obershelp ("Pattern Matching:
The Gestalt Approach", Dr. Dobb's Journal, 1988; Python's difflib documentation). Comparing
words rather than characters keeps the result readable: "copper" -> "steel" is one replaced
word, not a scatter of changed letters.

List values (ad headlines) are compared as lines joined by newlines, so an added headline is
one inserted line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from html import escape

__all__ = [
    "Segment",
    "tokenize",
    "word_diff",
    "diff_html",
    "diff_stats",
    "segments_html",
    "segments_stats",
    "as_text",
]

EQUAL = "equal"
INSERT = "insert"
DELETE = "delete"

# A token is a word with its trailing spaces, a punctuation mark with its trailing spaces, or a
# line break. Words compare without the spaces after them (see _key).
_TOKEN_RE = re.compile(
    r"\n|[^\W_]+(?:['’][^\W_]+)*[ \t]*|[^\w\s][ \t]*|_+[ \t]*|[ \t]+", re.UNICODE
)


@dataclass(frozen=True)
class Segment:
    """A run of text that is equal in both, only in the old text (delete) or only in the new (insert)."""

    op: str
    text: str


def as_text(value: str | list[str] | None) -> str:
    """A copy value as one text: lists become lines, None becomes ""."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens whose concatenation is ``text`` itself."""
    tokens = _TOKEN_RE.findall(text)
    # The pattern covers every character, but stay exact even for unexpected input.
    if "".join(tokens) != text:
        return list(text)
    return tokens


def _key(token: str) -> str:
    return token if token == "\n" else token.rstrip(" \t") or token


def word_diff(old: str | list[str] | None, new: str | list[str] | None) -> list[Segment]:
    """The word-level difference from ``old`` to ``new`` as merged segments.

    Joining the ``equal`` and ``delete`` segments gives ``old`` back; joining ``equal`` and
    ``insert`` gives ``new``. A replaced word is a ``delete`` followed by an ``insert``.
    """
    old_tokens = tokenize(as_text(old))
    new_tokens = tokenize(as_text(new))
    matcher = SequenceMatcher(
        None, [_key(t) for t in old_tokens], [_key(t) for t in new_tokens], autojunk=False
    )
    segments: list[Segment] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            # Equal by key; the whitespace after a word may differ, keep the new side's.
            old_part = "".join(old_tokens[i1:i2])
            new_part = "".join(new_tokens[j1:j2])
            if old_part == new_part:
                add(EQUAL, new_part)
            else:
                for a, b in zip(old_tokens[i1:i2], new_tokens[j1:j2], strict=True):
                    if a == b:
                        add(EQUAL, a)
                    else:
                        add(DELETE, a)
                        add(INSERT, b)
        else:
            if tag in ("delete", "replace"):
                add(DELETE, "".join(old_tokens[i1:i2]))
            if tag in ("insert", "replace"):
                add(INSERT, "".join(new_tokens[j1:j2]))
    return segments


def diff_html(old: str | list[str] | None, new: str | list[str] | None) -> str:
    """The diff as escaped HTML: ``<del>`` for removed words, ``<ins>`` for added ones.

    Every piece of text is HTML-escaped, so a draft containing markup is shown, never run.
    Line breaks become ``<br>``.
    """
    return segments_html(word_diff(old, new))


def segments_html(segments: list[Segment]) -> str:
    """:func:`diff_html` for segments already computed by :func:`word_diff`."""
    parts: list[str] = []
    for seg in segments:
        text = escape(seg.text).replace("\n", "<br>")
        if seg.op == EQUAL:
            parts.append(text)
        elif seg.op == DELETE:
            parts.append(f"<del>{text}</del>")
        else:
            parts.append(f"<ins>{text}</ins>")
    return "".join(parts)


def diff_stats(old: str | list[str] | None, new: str | list[str] | None) -> dict[str, int]:
    """Counts of words kept, removed and added (whitespace-only tokens are not words)."""
    return segments_stats(word_diff(old, new))


def segments_stats(segments: list[Segment]) -> dict[str, int]:
    """:func:`diff_stats` for segments already computed by :func:`word_diff`."""
    stats = {"kept": 0, "removed": 0, "added": 0}
    names = {EQUAL: "kept", DELETE: "removed", INSERT: "added"}
    for seg in segments:
        stats[names[seg.op]] += sum(1 for t in tokenize(seg.text) if t.strip())
    return stats
