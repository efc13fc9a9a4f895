"""Product-page HTML becomes safe plain-text copy and goes back as simple HTML."""

from __future__ import annotations

import pytest

from merchandising.catalog.platforms.html_text import html_to_text, text_to_html


def test_scripts_and_event_handlers_never_survive():
    text = html_to_text(
        '<p onclick="steal()">Warm <b>wool</b> socks<script>alert("x")</script></p>'
        '<img src=x onerror="alert(1)"><style>p{}</style><iframe src="//evil"></iframe>'
    )
    assert text == "Warm wool socks"
    html = text_to_html(text)
    assert "script" not in html and "onclick" not in html and "onerror" not in html


def test_lists_paragraphs_and_breaks_are_kept():
    text = html_to_text(
        "<h2>Care</h2><p>Wash cold.<br>Dry flat.</p><ul><li>100% merino</li><li><p>Made in "
        "Portugal</p></li></ul><ol><li>Soak</li><li>Rinse</li></ol>"
    )
    assert (
        text
        == "Care\n\nWash cold.\nDry flat.\n\n- 100% merino\n- Made in Portugal\n\n1. Soak\n2. Rinse"
    )
    assert text_to_html(text) == (
        "<p>Care</p><p>Wash cold.<br>Dry flat.</p><ul><li>100% merino</li><li>Made in "
        "Portugal</li></ul><ol><li>Soak</li><li>Rinse</li></ol>"
    )


def test_text_that_looks_like_markup_stays_text():
    text = html_to_text("<p>Use &lt;b&gt; for bold &amp; more</p>")
    assert text == "Use <b> for bold & more"
    assert text_to_html(text) == "<p>Use &lt;b&gt; for bold &amp; more</p>"


def test_plain_text_in_an_html_field_keeps_its_paragraphs():
    assert html_to_text("First line\r\nsecond   line\r\n\r\nNew paragraph") == (
        "First line\nsecond line\n\nNew paragraph"
    )


@pytest.mark.parametrize(
    "markup",
    [
        "<div>a<div>b</div>c</div>",
        "<ul><li>x<ul><li>y</li></ul></li></ul><p>- not a list</p>",
        "<table><tr><td>Size</td><td>M</td></tr></table>",
        "<p>1. first</p><p>3. third</p>",
        "<p>\u00a0 spaced \u00a0</p><p></p><br><br>",
    ],
)
def test_converting_back_and_forth_is_a_fixed_point(markup):
    text = html_to_text(markup)
    assert html_to_text(text_to_html(text)) == text
