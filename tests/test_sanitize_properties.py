"""Property-based tests of the comment sanitiser: only the safelist survives, and cleaning is stable."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sanitize import COMMENT_ATTRIBUTES, COMMENT_TAGS, clean_comment

TAGS = sorted(
    COMMENT_TAGS
    | {
        "script",
        "img",
        "svg",
        "iframe",
        "style",
        "math",
        "form",
        "input",
        "div",
        "span",
        "object",
        "embed",
        "a",
        "textarea",
        "noscript",
        "template",
        "title",
        "select",
    }
)
ATTRS = [
    "href",
    "src",
    "onerror",
    "onclick",
    "style",
    "hx-get",
    "data-hx-post",
    "rel",
    "title",
    "formaction",
    "xlink:href",
    "srcdoc",
    "class",
    "id",
]
VALUES = [
    "javascript:alert(1)",
    "https://example.org",
    "x",
    "java&#x09;script:alert(1)",
    "data:text/html,<b>",
    "vbscript:x",
    "/relative",
    "#top",
    "mailto:a@b.c",
    '"><script>alert(1)</script>',
]

attribute = st.tuples(st.sampled_from(ATTRS), st.sampled_from(VALUES))
element = st.builds(
    lambda tag, attrs, inner, close: (
        f"<{tag} " + " ".join(f'{k}="{v}"' for k, v in attrs) + f">{inner}" + (f"</{tag}>" if close else "")
    ),
    st.sampled_from(TAGS),
    st.lists(attribute, max_size=3),
    st.text(max_size=20),
    st.booleans(),
)
markup = st.lists(
    st.one_of(element, st.text(max_size=30), st.sampled_from(["<!--", "-->", "<", ">", "&", "\n\n"])), max_size=12
).map("".join)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, attrs))

    handle_startendtag = handle_starttag


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup)
def test_output_holds_only_safelisted_tags_and_attributes(source):
    out = clean_comment(source)
    parser = _Collector()
    parser.feed(out)
    for tag, attrs in parser.seen:
        assert tag in COMMENT_TAGS, (tag, out)
        allowed = COMMENT_ATTRIBUTES.get(tag, [])
        for name, value in attrs:
            assert name in allowed, (tag, name, out)
            if name == "href":
                assert value.split(":", 1)[0].lower() in {"http", "https", "mailto"} or ":" not in value, out
        if tag == "a" and "href" in dict(attrs):
            assert dict(attrs).get("rel") == "nofollow ugc", out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup)
def test_cleaning_is_idempotent(source):
    once = clean_comment(source)
    assert clean_comment(once) == once
