"""Content kinds: what each kind of copy is, its hard limits and where it lives.

Pure module (no Django import). Every other part of contentgen (prompts, guards,
generation, review, fine-tuning) reads its limits from here, so a limit is
changed in exactly one place.

Limits are counted in characters, the way the channels count them:

- SEO title: Google shows roughly the first 50-60 characters of a title link;
  60 is the common ceiling (https://developers.google.com/search/docs/appearance/title-link).
- Meta description: snippets are cut at about 155-160 characters
  (https://developers.google.com/search/docs/appearance/snippet).
- Responsive search ads: headlines at most 30 characters, 3 to 15 of them;
  descriptions at most 90 characters, 2 to 4 of them
  (https://support.google.com/google-ads/answer/7684791).

Where each kind lives (catalog ``COPY_FIELDS``): ``description``, ``seo_title``,
``seo_description``, ``ad_headlines`` and ``ad_descriptions`` map one to one.
**Bullets** have no field of their own: a bullet list is an alternative
*format of the description*. A bullets draft is stored as ``list[str]`` and,
when approved, is published into the ``description`` field as plain-text lines
starting with "- " (see :func:`live_value`). This keeps the catalog's fields
unchanged; a reviewer chooses either a prose or a bulleted description.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "KindSpec",
    "KINDS",
    "KIND_NAMES",
    "COPY_FIELD_KINDS",
    "get_spec",
    "normalize_kind",
    "parse_kinds",
    "live_value",
]


@dataclass(frozen=True)
class KindSpec:
    """The contract for one kind of copy.

    ``is_list`` kinds produce a ``list[str]`` per variant (for example one
    responsive search ad = a set of headlines); others produce one ``str``.
    ``max_chars`` is a hard limit per text (per item for list kinds).
    ``min_items``/``max_items`` bound list kinds; ``ask_items`` is how many the
    prompt asks for. ``min_words``/``max_words`` are soft targets (descriptions).
    """

    name: str
    label: str
    field: str
    is_list: bool
    max_chars: int
    variants: int
    max_new_tokens: int
    min_items: int = 1
    max_items: int = 1
    ask_items: int = 1
    min_words: int | None = None
    max_words: int | None = None
    min_chars: int = 1
    instruction: str = ""

    def limits_text(self) -> str:
        """One plain-language sentence stating the limits (used in prompts and pages)."""
        if self.is_list:
            return (
                f"{self.min_items} to {self.max_items} items, "
                f"each at most {self.max_chars} characters"
            )
        if self.min_words and self.max_words:
            return (
                f"{self.min_words} to {self.max_words} words, at most {self.max_chars} characters"
            )
        return f"at most {self.max_chars} characters"


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            name="description",
            label="Product description",
            field="description",
            is_list=False,
            # 150 words of shop English average ~6.3 characters with the space;
            # 1000 characters is the hard ceiling, the word range is the target.
            max_chars=1000,
            min_chars=120,
            min_words=60,
            max_words=150,
            variants=3,
            max_new_tokens=240,
            instruction=(
                "Write one product description of 60 to 150 words in plain text, "
                "in one or two short paragraphs. No headings, no lists, no links."
            ),
        ),
        KindSpec(
            name="bullets",
            label="Feature bullets",
            field="description",
            is_list=True,
            max_chars=100,
            min_items=3,
            max_items=6,
            ask_items=5,
            variants=2,
            max_new_tokens=160,
            instruction=(
                "Write 5 short feature bullet points, one per line, each line "
                "starting with '- ' and at most 100 characters."
            ),
        ),
        KindSpec(
            name="seo_title",
            label="SEO title",
            field="seo_title",
            is_list=False,
            max_chars=60,
            min_chars=10,
            variants=3,
            max_new_tokens=32,
            instruction=(
                "Write one SEO page title of at most 60 characters. "
                "Reply with the title only, on one line."
            ),
        ),
        KindSpec(
            name="seo_description",
            label="SEO meta description",
            field="seo_description",
            is_list=False,
            max_chars=155,
            min_chars=50,
            variants=3,
            max_new_tokens=64,
            instruction=(
                "Write one meta description for search results of at most 155 "
                "characters. Reply with the description only, on one line."
            ),
        ),
        KindSpec(
            name="ad_headline",
            label="Ad headlines",
            field="ad_headlines",
            is_list=True,
            max_chars=30,
            min_items=3,
            max_items=15,
            ask_items=8,
            variants=2,
            max_new_tokens=140,
            instruction=(
                "Write 8 different short ad headlines, one per line, each at most 30 characters."
            ),
        ),
        KindSpec(
            name="ad_description",
            label="Ad descriptions",
            field="ad_descriptions",
            is_list=True,
            max_chars=90,
            min_items=2,
            max_items=4,
            ask_items=3,
            variants=2,
            max_new_tokens=120,
            instruction=(
                "Write 3 different ad descriptions, one per line, each at most 90 characters."
            ),
        ),
    )
}

KIND_NAMES: tuple[str, ...] = tuple(KINDS)

# The live-copy field each kind fills; "bullets" shares "description".
COPY_FIELD_KINDS: dict[str, tuple[str, ...]] = {}
for _spec in KINDS.values():
    COPY_FIELD_KINDS.setdefault(_spec.field, ())
    COPY_FIELD_KINDS[_spec.field] += (_spec.name,)

# Accept the live-copy field names (plural) as kind names too.
_ALIASES = {
    "ad_headlines": "ad_headline",
    "ad_descriptions": "ad_description",
    "headlines": "ad_headline",
    "bullet": "bullets",
    "meta_description": "seo_description",
}


def normalize_kind(kind: str) -> str:
    """Canonical kind name for ``kind`` (accepts field names such as ``ad_headlines``).

    Raises ``ValueError`` naming the known kinds when ``kind`` is unknown.
    """
    key = (kind or "").strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in KINDS:
        raise ValueError(f"Unknown content kind {kind!r}; known kinds: {', '.join(KIND_NAMES)}")
    return key


def get_spec(kind: str) -> KindSpec:
    """The :class:`KindSpec` of ``kind`` (aliases accepted)."""
    return KINDS[normalize_kind(kind)]


def parse_kinds(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Parse ``"description,seo_title"`` (or a list) into canonical kind names, in order, unique."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not str(item).strip():
            continue
        kind = normalize_kind(str(item))
        if kind not in out:
            out.append(kind)
    if not out:
        raise ValueError("No content kinds given")
    return out


def live_value(kind: str, value: str | list[str]) -> str | list[str]:
    """The value to publish into the kind's live-copy field.

    Bullets become plain-text "- " lines in ``description``; ad kinds stay lists;
    the rest are strings.
    """
    spec = get_spec(kind)
    if spec.name == "bullets":
        items = [value] if isinstance(value, str) else list(value)
        return "\n".join(f"- {item.strip()}" for item in items if item.strip())
    if spec.is_list:
        return [value] if isinstance(value, str) else list(value)
    if isinstance(value, list):
        return " ".join(value)
    return value
