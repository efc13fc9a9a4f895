"""The review diff: what a reviewer sees changed between the live text and a draft."""

from __future__ import annotations

import pytest

from contentgen.review.diff import as_text, diff_html, diff_stats, tokenize, word_diff


def _side(segments, keep: str) -> str:
    return "".join(s.text for s in segments if s.op in ("equal", keep))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A copper pan.",
        "  leading and trailing  ",
        "Line one\nLine two",
        '1-9/16" bolt, 5V!',
        "Ünïcode café – ok",
    ],
)
def test_tokens_join_back_to_the_text(text):
    assert "".join(tokenize(text)) == text


@pytest.mark.parametrize(
    "old,new",
    [
        ("A copper saucepan for daily cooking.", "A steel saucepan for daily cooking."),
        ("", "Brand new text."),
        ("Old text only.", ""),
        ("Same words", "Same words"),
        ("one two three", "three two one"),
        ("spacing  differs", "spacing differs"),
        (["Headline one", "Headline two"], ["Headline one", "New headline", "Headline two"]),
    ],
)
def test_each_side_is_recovered_from_the_segments(old, new):
    segments = word_diff(old, new)
    assert _side(segments, "delete") == as_text(old)
    assert _side(segments, "insert") == as_text(new)


def test_a_changed_material_is_one_replaced_word():
    segments = word_diff("A copper saucepan.", "A steel saucepan.")
    changed = [(s.op, s.text.strip()) for s in segments if s.op != "equal"]
    assert changed == [("delete", "copper"), ("insert", "steel")]
    assert diff_stats("A copper saucepan.", "A steel saucepan.") == {
        "kept": 3,
        "removed": 1,
        "added": 1,
    }


def test_identical_texts_have_no_changes():
    assert [s.op for s in word_diff("Same text.", "Same text.")] == ["equal"]


def test_added_headline_is_an_inserted_line():
    segments = word_diff(
        ["Fast kettle", "Cool handle"], ["Fast kettle", "Boils in 3 min", "Cool handle"]
    )
    inserted = "".join(s.text for s in segments if s.op == "insert")
    assert "Boils in 3 min" in inserted
    assert not any(s.op == "delete" for s in segments)


def test_html_is_escaped_and_marked():
    html = diff_html("Safe text", "Safe <script>alert(1)</script> text")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<ins>" in html and "<del>" not in html
    assert diff_html("a\nb", "a\nb") == "a<br>b"
