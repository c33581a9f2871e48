"""The XSS corpus against the sanitiser and the rendered pages, without a browser.

Every vector in tests/fixtures/xss/vectors.txt is cleaned by the comment sanitiser and
planted through every reader-controlled field; the output is parsed the way a
browser parses it (the HTML5 algorithm, with SVG and MathML namespaces) and
must hold nothing outside the comment safelist: no script, no event handler,
no style, no htmx attribute, no javascript: URL. The browser test
(tests/browser/test_xss.py) then proves the same pages run nothing in Chromium.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# bleach ships html5lib, the parser that follows the HTML5 tree-construction rules browsers use.
from bleach._vendor import html5lib

from services.sanitize import COMMENT_ATTRIBUTES, COMMENT_TAGS, clean_comment
from tests.comment_helpers import set_settings
from tests.xss import FIELDS, VECTORS_PATH, chunks, load_vectors, plant_all

XHTML = "{http://www.w3.org/1999/xhtml}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
# Attributes the site's own templates put on the element that wraps reader content.
ROOT_ATTRIBUTES = {"class", "id", "href", "rel", "data-user-content"}
LIVE_ATTRIBUTE = re.compile(r"^(on|hx-|data-hx-)|^style$|^srcdoc$|^formaction$", re.I)
SCRIPT_URL = re.compile(r"^(javascript|vbscript|data):", re.I)
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster", "background", "cite", "ping"}
VECTORS = load_vectors()
PER_ARTICLE = 50


def _url_is_script(value: str) -> bool:
    # Browsers drop C0 controls and spaces around a scheme and tabs/newlines inside it.
    return bool(SCRIPT_URL.match(re.sub(r"[\x00-\x20\x7f]", "", value)))


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else "#comment"


def _problems(element, root_attributes=None) -> list[str]:
    """What in ``element``'s subtree falls outside the comment safelist. With
    ``root_attributes`` the element itself is the site's wrapper: any tag, those attributes."""
    found = []
    for el in element.iter():
        if el.tag == "DOCUMENT_FRAGMENT":
            continue
        if not isinstance(el.tag, str):
            found.append("comment node")
            continue
        tag = _local(el.tag)
        is_root = el is element and root_attributes is not None
        if not el.tag.startswith(XHTML):
            found.append(f"foreign element {el.tag}")
        elif not is_root and tag not in COMMENT_TAGS:
            found.append(f"element <{tag}>")
        allowed = root_attributes if is_root else set(COMMENT_ATTRIBUTES.get(tag, ()))
        for name, value in el.attrib.items():
            name = _local(name)
            if name not in allowed or LIVE_ATTRIBUTE.search(name):
                found.append(f"attribute {name}={value[:60]!r} on <{tag}>")
            if name in URL_ATTRIBUTES and _url_is_script(value):
                found.append(f"script URL {value[:60]!r} in {name}")
    return found


def _fragment(markup: str):
    return html5lib.parseFragment(markup, container="div", treebuilder="etree", namespaceHTMLElements=True)


def test_corpus_has_over_two_hundred_distinct_vectors_with_sources():
    assert len(VECTORS) >= 200
    assert len(set(VECTORS)) == len(VECTORS), "duplicate vectors"
    sources = (VECTORS_PATH.parent / "SOURCES.md").read_text(encoding="utf-8")
    tags = re.findall(r"^# \[(\w+)\]", VECTORS_PATH.read_text(encoding="utf-8"), re.M)
    assert tags, "vectors.txt names its sources in '# [tag]' lines"
    assert "`\\n`" in sources and "`\\u{HEX}`" in sources, "SOURCES.md documents the escapes"
    for tag in tags:
        assert f"`[{tag}]`" in sources, f"[{tag}] is not described in SOURCES.md"


def test_every_vector_cleans_to_the_safelist():
    failures = []
    for vector in VECTORS:
        cleaned = clean_comment(vector)
        problems = _problems(_fragment(cleaned))
        # What the browser parses, serialised and parsed again, is still inside the safelist (no mutation XSS).
        reparsed = html5lib.serialize(_fragment(cleaned), tree="etree", omit_optional_tags=False)
        problems += _problems(_fragment(reparsed))
        if clean_comment(cleaned) != cleaned:
            problems.append("cleaning twice changes it")
        if problems:
            failures.append((vector, cleaned, problems))
    assert not failures, "\n".join(f"{v!r}\n  -> {c!r}\n  {p}" for v, c, p in failures[:20])


def _user_content(page_html: str):
    tree = html5lib.parse(page_html, treebuilder="etree", namespaceHTMLElements=True)
    return tree, [el for el in tree.iter() if isinstance(el.tag, str) and "data-user-content" in el.attrib]


def _page_problems(page_html: str, baseline_scripts: list[str]) -> list[str]:
    tree, roots = _user_content(page_html)
    found = [p for root in roots for p in _problems(root, ROOT_ATTRIBUTES)]
    scripts = [el.get("src", "inline") for el in tree.iter(f"{XHTML}script")]
    if scripts != baseline_scripts:
        found.append(f"scripts changed: {scripts}")
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            name = _local(name).lower()
            if name.startswith("on") or (name in URL_ATTRIBUTES and _url_is_script(value)):
                found.append(f"{name}={value[:60]!r} on <{_local(el.tag)}>")
    return found


def test_article_pages_and_feeds_render_the_corpus_only_as_safe_markup(app, client, factory):
    set_settings(app, flood_seconds=0, threads_per_page=500, verify_linkbacks=False)
    app.config["FEED_ITEMS"] = 1000
    groups = chunks(VECTORS, PER_ARTICLE)
    articles = [factory.article(f"Corpus story {i}") for i in range(len(groups))]
    baseline = client.get(f"/article/{articles[0].slug}").get_data(as_text=True)
    baseline_scripts = [el.get("src", "inline") for el in _user_content(baseline)[0].iter(f"{XHTML}script")]

    planted = plant_all(app, client, articles, groups)
    # Every field took vectors, so every rendering path below is exercised.
    for name in FIELDS:
        if name not in ("comment website", "trackback url"):  # raw vectors are rarely web addresses
            assert planted.accepted[name] > 0, (name, planted)
    # The form refuses NUL (and U+FFFD); every other vector is stored as a comment body.
    assert planted.accepted["comment body"] == sum("\x00" not in v and "\ufffd" not in v for v in VECTORS), planted

    failures = []
    for article, group in zip(articles, groups, strict=True):
        response = client.get(f"/article/{article.slug}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        _, roots = _user_content(page)
        if len(roots) < len(group) * 5:  # markup that broke out of its comment swallows what follows
            failures.append(f"/article/{article.slug}: only {len(roots)} pieces of reader content")
        failures += [f"/article/{article.slug}: {p}" for p in _page_problems(page, baseline_scripts)]
        if page.lower().count("<script") != baseline.lower().count("<script"):
            failures.append(f"/article/{article.slug}: a <script tag in the page source")

        feed = client.get(f"/article/{article.slug}/feed")
        assert feed.status_code == 200
        items = ET.fromstring(feed.data).findall("./channel/item")
        assert len(items) >= len(group) * 2
        for item in items:
            # A feed reader shows description and content:encoded as HTML.
            for markup in (item.findtext("description") or "", item.findtext(CONTENT) or ""):
                failures += [f"{article.slug}/feed: {p}" for p in _problems(_fragment(markup))]
    assert not failures, "\n".join(failures[:40])
