"""Product-page HTML to plain-text live copy and back. Pure Python, no Django.

`html_to_text` first cleans the HTML with nh3 (the Rust `ammonia` sanitiser): scripts, styles,
event handlers and every tag outside a small block/inline allow-list go, script and style
*contents* included. The cleaned markup is then turned into text by a small converter on the
stdlib HTML parser: paragraphs and headings become blocks separated by a blank line, list items
become "- item" (or "1. item") lines, <br> a line break, runs of spaces one space.

`text_to_html` writes that text back as simple, safe HTML: <p> per block (line breaks as <br>),
<ul>/<ol> for blocks whose every line is a list item, everything escaped. The pair is a fixed
point: html_to_text(text_to_html(t)) == t for any t that html_to_text wrote, which is what makes
an import -> export -> import round trip leave the live copy unchanged.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
)
ROW_TAGS = frozenset({"tr"})
LIST_TAGS = frozenset({"ul", "ol"})
INLINE_TAGS = frozenset({"b", "strong", "i", "em", "u", "span", "a", "small", "sup", "sub", "td"})
ALLOWED_TAGS = BLOCK_TAGS | ROW_TAGS | LIST_TAGS | INLINE_TAGS | {"li", "br", "tbody", "thead"}
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})

_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_ORDERED_ITEM = re.compile(r"^\d+\. ")
_MARKUP = re.compile(r"<[a-zA-Z/!?]")


def sanitise(markup: str) -> str:
    """The HTML with only ALLOWED_TAGS left, no attributes, scripts and styles gone with their
    content."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={},
        link_rel=None,
        strip_comments=True,
    )


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.lines: list[str] = []  # lines of the block being written
        self.words: list[str] = []  # pieces of the line being written
        self.marker = ""  # "- " or "1. " waiting for its list item's first text
        self.lists: list[list] = []  # stack of [kind, counter]

    # A block is a list of lines; a line is a list of text pieces joined as written.
    def _end_line(self) -> None:
        line = _SPACES.sub(" ", "".join(self.words)).strip()
        self.words = []
        if line:
            self.lines.append(self.marker + line)
            self.marker = ""

    def _end_block(self) -> None:
        self._end_line()
        if self.lines:
            self.blocks.append("\n".join(self.lines))
        self.lines = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._end_line()
        elif tag in LIST_TAGS:
            if not self.lists:
                self._end_block()
            else:
                self._end_line()
            self.lists.append([tag, 0])
        elif tag == "li":
            self._end_line()
            if self.lists:
                self.lists[-1][1] += 1
                kind, number = self.lists[-1]
                marker = f"{number}. " if kind == "ol" else "- "
            else:
                marker = "- "
            self.marker = marker
        elif tag in BLOCK_TAGS:
            if self.lists:
                self._end_line()
            else:
                self._end_block()
        elif tag in ROW_TAGS:
            self._end_line()
        elif tag == "td":
            self.words.append(" ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in LIST_TAGS:
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._end_block()
            else:
                self._end_line()
        elif tag == "li":
            self._end_line()
            self.marker = ""
        elif tag in BLOCK_TAGS:
            if self.lists:
                self._end_line()
            else:
                self._end_block()
        elif tag in ROW_TAGS:
            self._end_line()

    def handle_data(self, data):
        self.words.append(data)

    def text(self) -> str:
        self.close()
        self._end_block()
        return "\n\n".join(self.blocks)


def html_to_text(markup: str) -> str:
    """Plain text of a product description written in HTML (safe: no markup survives)."""
    if not markup or not markup.strip():
        return ""
    if not _MARKUP.search(markup):
        # Plain text pasted into an HTML field: keep its paragraphs and lines.
        return _plain_text(html.unescape(markup))
    writer = _TextWriter()
    writer.feed(sanitise(markup))
    # The parser unescapes entities, so "&lt;script&gt;" in the source is text here: it stays
    # text (and is escaped again by text_to_html), never markup.
    return writer.text()


def _plain_text(text: str) -> str:
    blocks = []
    for block in re.split(r"\n[ \t\r\f\v]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        lines = [line for line in lines if line]
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def text_to_html(text: str) -> str:
    """Simple, safe HTML for plain-text copy: paragraphs, line breaks and lists."""
    parts: list[str] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{html.escape(line[2:].strip())}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        elif all(_ORDERED_ITEM.match(line) for line in lines) and _counts_from_one(lines):
            items = "".join(
                f"<li>{html.escape(line.split('. ', 1)[1].strip())}</li>" for line in lines
            )
            parts.append(f"<ol>{items}</ol>")
        else:
            parts.append("<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>")
    return "".join(parts)


def _counts_from_one(lines: list[str]) -> bool:
    return [int(line.split(".", 1)[0]) for line in lines] == list(range(1, len(lines) + 1))
