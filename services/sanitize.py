"""The one place that decides which HTML survives: bleach allow-lists and Markdown.

Readers' comments get a small safelist; articles (written by staff in Markdown)
get a wider one. Both are cleaned on the way in and the source is kept, so the
policy can be re-applied later (see ``reclean``).
"""

from __future__ import annotations

import html as html_module
import re
import unicodedata
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

COMMENT_TAGS = frozenset({"a", "b", "strong", "i", "em", "code", "pre", "blockquote", "p", "br", "ul", "ol", "li"})
COMMENT_ATTRIBUTES = {"a": ["href", "rel", "title"]}
PROTOCOLS = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src"})

ARTICLE_TAGS = COMMENT_TAGS | {
    "h2",
    "h3",
    "h4",
    "hr",
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
    "abbr",
    "cite",
    "q",
    "s",
    "del",
    "ins",
    "dl",
    "dt",
    "dd",
}
ARTICLE_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "img": ["src", "alt", "title", "width", "height", "loading"],
    "abbr": ["title"],
    "th": ["scope"],
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.I)
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def url_scheme(url: str) -> str | None:
    """The scheme a browser reads from ``url`` (None for a relative URL).

    As the URL standard does: leading and trailing controls and spaces are dropped
    and tabs and newlines removed anywhere before the scheme is read.
    """
    cleaned = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def _attribute_filter(allowed: dict[str, list[str]]):
    """bleach's allow-list plus a browser-style scheme check on URLs. bleach alone keeps
    ``href="javascript:123"``: its URL parser reads "scheme:digits" as host and port."""

    def allow(tag: str, name: str, value: str) -> bool:
        if name not in allowed.get(tag, ()):
            return False
        return name not in URL_ATTRIBUTES or url_scheme(value) in PROTOCOLS | {None}

    return allow


def _nofollow(attrs, new=False):
    """Every link in user content is rel="nofollow ugc" (and off-site safe)."""
    href_key = (None, "href")
    if href_key not in attrs:
        return attrs
    attrs[(None, "rel")] = "nofollow ugc"
    return attrs


_comment_cleaner = bleach.Cleaner(
    tags=COMMENT_TAGS,
    attributes=_attribute_filter(COMMENT_ATTRIBUTES),
    protocols=PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_nofollow], skip_tags={"pre", "code"})],
)

_article_cleaner = bleach.Cleaner(
    tags=ARTICLE_TAGS,
    attributes=_attribute_filter(ARTICLE_ATTRIBUTES),
    protocols=PROTOCOLS,
    strip=True,
    strip_comments=True,
)


def strip_control(text: str) -> str:
    """Drop NUL and other control characters (keeping tab and newlines)."""
    return _CONTROL.sub("", text)


# ---------------------------------------------------------------- names and comparisons

# Control and format characters (bidi overrides and isolates, zero-width characters, soft
# hyphens, tabs and line breaks) and line/paragraph separators: nothing a name needs, and
# the tools of spoofing ("admin\u202egnp.exe" shows as "adminexe.png") and header injection.
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
NAME_INVISIBLE = "Remove the invisible characters (line breaks, direction or zero-width marks) from your name."
NAME_BLANK = "Please enter a name with at least one visible character."


def normalise_name(name: str) -> str:
    """A name as it is kept: Unicode NFKC (full-width and compatibility forms folded)."""
    return unicodedata.normalize("NFKC", name)


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNPS" and char not in _BLANK


# Zero-width (non-)joiners are part of how some names are spelt (Persian, emoji
# sequences): allowed between two visible characters, as domain-name rules do.
_JOINERS = frozenset("\u200c\u200d")


def _forbidden_at(name: str, i: int) -> bool:
    char = name[i]
    if unicodedata.category(char) not in _NAME_FORBIDDEN:
        return False
    if char in _JOINERS and 0 < i < len(name) - 1:
        return not (_visible(name[i - 1]) and _visible(name[i + 1]))
    return True


def name_problem(name: str) -> str | None:
    """What is wrong with a (normalised) name, or None. Used by the form and the service."""
    if any(_forbidden_at(name, i) for i in range(len(name))):
        return NAME_INVISIBLE
    if not any(_visible(c) for c in name):
        return NAME_BLANK
    return None


_SPACES = re.compile(r"\s+")


def comparable_text(text: str) -> str:
    """The form two texts are compared in to tell whether they say the same thing:
    NFKC, case-folded, format characters (zero-width spaces and joiners, BOM, bidi
    marks, soft hyphens) removed and whitespace collapsed. For comparing only; never stored or shown."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFKC", text.casefold())
    return _SPACES.sub(" ", text).strip()


# The same safelist without linkifying, to re-balance markup after paragraphs are added.
_comment_normaliser = bleach.Cleaner(
    tags=COMMENT_TAGS,
    attributes=_attribute_filter(COMMENT_ATTRIBUTES),
    protocols=PROTOCOLS,
    strip=True,
    strip_comments=True,
)
_BLOCK = re.compile(r"<(p|pre|ul|ol|blockquote)\b", re.I)


def _paragraphs(html: str) -> str:
    """Turn plain line breaks into <p> and <br>, leaving markup that already has blocks."""
    if _BLOCK.search(html):
        return html
    blocks = [b for b in re.split(r"\n\s*\n", html) if b.strip()]
    return "".join("<p>" + b.strip().replace("\n", "<br>\n") + "</p>" for b in blocks)


def clean_comment(source: str) -> str:
    """Clean a reader's comment: safelisted tags only, URLs linkified, links nofollow ugc,
    line breaks kept. Cleaning its own output changes nothing (idempotent)."""
    text = strip_control(source).replace("\r\n", "\n").replace("\r", "\n").strip()
    html = _paragraphs(_comment_cleaner.clean(text))
    return _comment_normaliser.clean(html).strip()


def render_markdown(source: str) -> str:
    """Render an article's Markdown to safe HTML."""
    html = markdown.markdown(strip_control(source), extensions=["extra", "sane_lists"], output_format="html")
    return _article_cleaner.clean(html)


def plain_text(html: str) -> str:
    """Text content of a fragment of HTML, for excerpts and feeds: tags dropped and
    entities decoded (it is text; templates escape it once on the way out)."""
    return re.sub(r"\s+", " ", html_module.unescape(bleach.clean(html, tags=set(), strip=True))).strip()


def strip_tags(text: str) -> str:
    """Plain text with anything tag-shaped removed, for places some readers show as HTML
    (feed titles)."""
    return re.sub(r"<[^>]*>", "", text)


def excerpt(html: str, limit: int = 280) -> str:
    text = plain_text(html)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def remote_text(value: str, limit: int) -> str:
    """Plain text from what a remote site sent (a linkback's title, excerpt or site name).

    Tags and comments are dropped, entities decoded, whitespace collapsed, and the
    result cut to ``limit`` characters with an ellipsis. Templates escape it again
    on output, so it is only ever shown as text.
    """
    # Cut before parsing: a megabyte of "excerpt" must not cost a megabyte of HTML parsing.
    raw = strip_control(value or "")[: limit * 4 + 1024]
    text = html_module.unescape(bleach.clean(raw, tags=set(), strip=True, strip_comments=True))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def text_html(text: str) -> str:
    """Plain text as one escaped HTML paragraph (a linkback's excerpt in feeds)."""
    return f"<p>{html_module.escape(text, quote=False)}</p>" if text else ""
