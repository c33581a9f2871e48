"""Every XSS vector, through every reader-controlled field, runs nothing in Chromium.

The corpus (tests/fixtures/xss/vectors.txt, sources in tests/fixtures/xss/SOURCES.md) goes in through
the comment form (body, name, website) and TrackBack (title, excerpt, blog_name,
url), is approved, and is then shown to Chromium wherever the site displays it:
the article pages, the comments feeds (as the browser shows the XML, and as a feed
reader renders each item's HTML) and the moderation queue. On every page each
element of reader content ([data-user-content] and everything in it) is focused
and sent every pointer, mouse, focus, key, clipboard, drag and animation event an
inline handler could wait for, and the window gets message, hashchange, print and
the like; on the public article pages the real mouse also moves over every element
(a real move costs a frame, so the other pages make do with the dispatched events).
javascript: links, if there were any, would be clicked.

The detector counts as a hit:
- a call to alert, confirm, prompt or print (wrapped before any page script runs), or a dialog;
- a navigation to a javascript: URL, or away from the page;
- a request to any host but the site's (a remote script, style sheet or frame);
- a Content Security Policy violation: a blocked inline handler means a payload reached the DOM;
- in the DOM audit, anything in reader content outside the comment safelist, and any
  on* attribute or javascript: URL anywhere on the page.

Pages are first shown with the site's CSP switched off, so the sanitiser has to
stand on its own, then with the CSP on. The last test points the same
detector at a deliberately unsafe rendering of a few vectors and sees it fire.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections import Counter

from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from extensions import db
from models import Comment
from services.sanitize import COMMENT_ATTRIBUTES, COMMENT_TAGS
from services.security import CSP
from tests.admin_helpers import PASSWORD
from tests.comment_helpers import set_settings
from tests.factories import Factory
from tests.xss import FIELDS, chunks, load_vectors, plant_all

VECTORS = load_vectors()
PER_ARTICLE = 50
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
# Attributes the site's own templates put on the element that wraps reader content.
ROOT_ATTRIBUTES = ["class", "id", "href", "rel", "data-user-content"]
SAFELIST = {
    "tags": sorted(COMMENT_TAGS),
    "attrs": {tag: list(names) for tag, names in COMMENT_ATTRIBUTES.items()},
    "rootAttrs": ROOT_ATTRIBUTES,
}
JAVASCRIPT_LINKS = '[data-user-content] a[href^="javascript:" i], a[data-user-content][href^="javascript:" i]'

# Runs in every frame before any of the page's scripts.
DETECTOR_JS = r"""
(() => {
  if (window.__xss) return;
  const hits = [];
  Object.defineProperty(window, "__xss", { value: hits });
  const report = (message) => {
    hits.push(message);
    try { window.__xssReport(message); } catch (e) {}  // to the test, from any frame
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const sink = function (...args) {
      report(`${name}(${args.map(String).join(", ").slice(0, 60)}) in ${location.href.slice(0, 80)}`);
      return name === "confirm" ? false : name === "prompt" ? null : undefined;
    };
    try {
      Object.defineProperty(window, name, { value: sink, writable: false, configurable: false });
    } catch (e) {
      window[name] = sink;
    }
  }
  addEventListener("securitypolicyviolation",
    (e) => report(`CSP blocked ${e.violatedDirective}: ${(e.sample || e.blockedURI || "").slice(0, 80)}`), true);
})();
"""

AUDIT_JS = r"""
({ tags, attrs, rootAttrs }) => {
  const problems = [];
  const XHTML = "http://www.w3.org/1999/xhtml";
  const scriptUrl = (v) => /^(javascript|vbscript|data):/i.test(v.replace(/[\u0000-\u0020\u007f]/g, ""));
  const urlAttribute = /^(href|src|srcset|action|formaction|data|poster|background|cite|codebase|xlink:href|ping)$/i;
  const where = (el) => (el.closest("[id]") || el).id || el.localName;
  const bad = (el, why) => problems.push(`dom: ${why} in #${where(el)}: ${el.outerHTML.slice(0, 140)}`);
  for (const root of document.querySelectorAll("[data-user-content]")) {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      const isRoot = el === root;
      const tag = el.localName;
      if (el.namespaceURI !== XHTML) bad(el, `foreign element <${tag}>`);
      else if (!isRoot && !tags.includes(tag)) bad(el, `element <${tag}> outside the safelist`);
      for (const a of el.attributes) {
        const name = a.name.toLowerCase();
        const allowed = isRoot ? rootAttrs : attrs[tag] || [];
        if (!allowed.includes(name) || /^(on|hx-|data-hx-)|^style$/.test(name)) bad(el, `attribute ${name}`);
        if (urlAttribute.test(name) && scriptUrl(a.value)) bad(el, `script URL in ${name}`);
      }
    }
    const forbidden = 'a[href^="javascript:" i], [src^="javascript:" i], iframe, object, embed, form, script, style';
    for (const el of root.querySelectorAll(forbidden)) bad(el, `forbidden <${el.localName}>`);
  }
  // A payload that escaped its wrapper (a <body onload> merges into the page's own body) shows here.
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      if (/^(on|hx-on)/i.test(a.name)) bad(el, `handler attribute ${a.name}`);
      if (urlAttribute.test(a.name) && scriptUrl(a.value))
        bad(el, `script URL in ${a.name}`);
    }
  }
  return problems;
}
"""

# Everything an inline handler or a page-level handler could be waiting for, short of a click.
EVENTS_JS = r"""
() => {
  const types = ["pointerover", "pointerenter", "mouseover", "mouseenter", "pointermove", "mousemove",
    "pointerdown", "mousedown", "pointerup", "mouseup", "pointerout", "pointerleave", "mouseout", "mouseleave",
    "focus", "focusin", "blur", "focusout", "dblclick", "contextmenu", "auxclick", "wheel", "scroll",
    "copy", "cut", "paste", "beforecopy", "beforecut", "beforepaste", "input", "change", "select", "selectstart",
    "keydown", "keypress", "keyup", "dragstart", "drag", "dragenter", "dragover", "dragleave", "drop", "dragend",
    "toggle", "animationstart", "animationiteration", "animationend", "transitionend", "load", "error",
    "begin", "end", "show", "close", "invalid", "touchstart", "touchend"];
  const els = new Set();
  for (const root of document.querySelectorAll("[data-user-content]")) {
    els.add(root);
    root.querySelectorAll("*").forEach((el) => els.add(el));
  }
  for (const el of els) {
    for (const type of types) el.dispatchEvent(new Event(type, { bubbles: false, cancelable: true }));
    try { el.focus({ preventScroll: true }); el.blur(); } catch (e) {}
  }
  for (const type of ["hashchange", "popstate", "pageshow", "resize", "scroll", "beforeprint", "afterprint",
                      "online", "offline", "storage", "focus", "blur"]) {
    window.dispatchEvent(new Event(type));
  }
  window.postMessage("xss-check", "*");
  return els.size;
}
"""

# Scrolls to y and returns a point on each not-yet-hovered innermost element of reader content
# now in view. The pointer entering an element enters all its ancestors too, so every element
# of reader content is hovered without a mouse move each (a move costs a frame, about 16 ms).
POINTS_JS = r"""
(y) => {
  window.scrollTo(0, y);
  const seen = (window.__gzSeen = window.__gzSeen || new WeakSet());
  const points = [];
  for (const root of document.querySelectorAll("[data-user-content]")) {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      if (seen.has(el) || el.firstElementChild) continue;
      const box = el.getClientRects()[0];
      if (!box || !box.width || !box.height) continue;
      const x = box.left + Math.min(box.width / 2, 12), yy = box.top + Math.min(box.height / 2, 8);
      if (x < 0 || yy < 0 || x >= innerWidth || yy >= innerHeight) continue;
      seen.add(el);
      points.push([x, yy]);
    }
  }
  return points;
}
"""


class Detector:
    """Everything that shows a vector ran, for one browser context."""

    def __init__(self, context, own: tuple[str, ...]):
        self.own = own
        self.hits: list[str] = []
        context.expose_binding("__xssReport", lambda source, message: self.hits.append(message))
        context.add_init_script(DETECTOR_JS)
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.own):
            route.fallback()
        else:
            self.hits.append(f"request to {url[:120]}")
            route.abort()

    def _dialog(self, dialog):
        self.hits.append(f"{dialog.type} dialog: {dialog.message[:80]}")
        dialog.dismiss()

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.hits.append(f"console: {message.text[:160]}")

    def _navigated(self, frame):
        if frame.url.lower().startswith("javascript:"):
            self.hits.append(f"navigated to {frame.url[:120]}")

    def watch(self, page):
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("framenavigated", self._navigated)
        return page

    def take(self) -> list[str]:
        found, self.hits = self.hits, []
        return found


def _hover_everything(page) -> None:
    """Move the real mouse over every visible piece of reader content, a screenful at a time."""
    step = page.viewport_size["height"]
    y, height = 0, page.evaluate("document.documentElement.scrollHeight")
    while y < height:
        for x, point_y in page.evaluate(POINTS_JS, y):
            page.mouse.move(x, point_y)
        y += step


def sweep(page, detector: Detector, *, hover: bool = True) -> list[str]:
    """Audit, poke and hover the reader content on the page now loaded; what the detector saw."""
    url = page.url
    page.wait_for_timeout(150)  # onload/onerror handlers, animations and timers get their chance
    problems = page.evaluate(AUDIT_JS, SAFELIST)
    for link in page.locator(JAVASCRIPT_LINKS).all():
        problems.append(f"dom: javascript: link {link.get_attribute('href')!r}")
        try:
            link.click(force=True, no_wait_after=True, timeout=2000)
        except PlaywrightError:  # hidden or off-screen: follow it from script instead
            link.evaluate("a => a.click()")
    page.evaluate(EVENTS_JS)
    if hover:
        _hover_everything(page)
    page.wait_for_timeout(150)
    # Hits from every frame arrive through the binding; the page's own list is read as well.
    problems += dict.fromkeys(detector.take() + page.evaluate("() => (window.__xss || []).slice()"))
    if page.url != url:
        problems.append(f"navigated from {url} to {page.url}")
    return problems


def _reader_page(feed_xml: bytes) -> str:
    """The feed as a reader shows it: titles as text, description and content:encoded as HTML."""
    parts = []
    for item in ET.fromstring(feed_xml).findall("./channel/item"):
        parts.append(
            f"<article><h2 data-user-content>{html.escape(item.findtext('title') or '')}</h2>"
            f"<div data-user-content>{item.findtext('description') or ''}</div>"
            f"<div data-user-content>{item.findtext(CONTENT) or ''}</div></article>"
        )
    return "<!doctype html><html><head><title>Feed reader</title></head><body>" + "".join(parts) + "</body></html>"


def _sign_in(page, base: str) -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/admin/")


def test_no_vector_runs_on_articles_feeds_or_the_moderation_queue(live_server, live_app, browser, monkeypatch):
    base = live_server.url
    set_settings(live_app, flood_seconds=0, threads_per_page=500, verify_linkbacks=False)
    live_app.config["FEED_ITEMS"] = 1000  # the comments feed carries every planted item
    factory = Factory(live_app)
    groups = chunks(VECTORS, PER_ARTICLE)
    articles = [factory.article(f"Corpus story {i}") for i in range(len(groups))]
    planted = plant_all(live_app, live_app.test_client(), articles, groups)
    for name in FIELDS:
        if name not in ("comment website", "trackback url"):  # raw vectors are rarely web addresses
            assert planted.accepted[name] > 0, (name, planted)

    # The moderation queue, when the dashboard is there: every item of an article on one page.
    has_queue = "admin.comments" in {rule.endpoint for rule in live_app.url_map.iter_rules()}
    if has_queue:
        from blueprints.admin import routes_comments

        monkeypatch.setattr(routes_comments, "PER_PAGE", 1000)
        factory.user("admin", password=PASSWORD, role="admin")
    with live_app.app_context():
        stored = dict(
            db.session.execute(
                select(Comment.article_id, func.count())
                .where(Comment.status == "approved")
                .group_by(Comment.article_id)
            ).all()
        )
    client = live_app.test_client()

    problems: list[tuple[str, str]] = []  # (where, what)
    for csp_on in (False, True):
        context = browser.new_context(bypass_csp=not csp_on, viewport={"width": 1200, "height": 900})
        detector = Detector(context, (base,))
        page = detector.watch(context.new_page())
        if has_queue:
            _sign_in(page, base)
        label = "with CSP" if csp_on else "without CSP"
        for article, group in zip(articles, groups, strict=True):
            url = f"{base}/article/{article.slug}"
            page.goto(url)
            # Fewer than planted would mean markup broke out of its comment (or was not planted).
            for selector in (".comment-body[data-user-content]", ".linkback"):
                if (shown := page.locator(selector).count()) < len(group) - 5:
                    problems.append((f"{label} {url}", f"only {shown} {selector} for {len(group)} vectors"))
            problems += [(f"{label} {url}", p) for p in sweep(page, detector, hover=not csp_on)]

            if has_queue:
                url = f"{base}/admin/comments?status=approved&article={article.id}"
                page.goto(url)
                if (shown := page.locator("article.qrow").count()) != stored[article.id]:
                    problems.append((f"{label} {url}", f"only {shown} of {stored[article.id]} items in the queue"))
                problems += [(f"{label} {url}", p) for p in sweep(page, detector, hover=False)]

            if not csp_on:
                url = f"{base}/article/{article.slug}/feed"
                page.goto(url)  # Chromium's XML viewer
                page.wait_for_timeout(100)
                problems += [(url, p) for p in detector.take()]
                page.set_content(_reader_page(client.get(f"/article/{article.slug}/feed").data))
                problems += [(f"{url} in a reader", p) for p in sweep(page, detector, hover=False)]
        context.close()
    assert not problems, _report(problems)


def _report(problems: list[tuple[str, str]]) -> str:
    kinds = Counter(
        re.match(r"(dom|request to|CSP blocked|console|navigated|only|\w+)", what).group(1) for _, what in problems
    )
    lines = [f"{len(problems)} problems, by kind: {dict(kinds)}"]
    return "\n".join(lines + [f"{where}: {what}" for where, what in problems[:60]])


# Corpus vectors and what sets each one off when rendered unescaped.
UNSAFE_SAMPLES = [
    "<svg/onload=alert('XSS')>",  # on load
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',  # on a failed image
    '<a onmouseover="alert(1)" style=display:block>test</a>',  # on hover
    "<p id=x tabindex=1 onfocus=alert(1)></p>",  # on focus
    '<a href="javascript:alert(1)">XSS</a>',  # a javascript: link, clicked
    '<iframe srcdoc="<script>alert(1)</script>">',  # in a frame
    "<body onmessage=print()>",  # print(), from a message to the window
    '<SCRIPT/SRC="http://xss.rocks/xss.js"></SCRIPT>',  # a remote script
]


def test_the_detector_fires_on_an_unsafe_rendering(browser):
    assert all(sample in VECTORS for sample in UNSAFE_SAMPLES)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    unsafe = "http://unsafe.test/"
    detector = Detector(context, (unsafe,))
    page = detector.watch(context.new_page())
    csp_for = {}

    def serve(route):
        n = int(route.request.url.rsplit("/", 1)[1] or -1)
        if n < 0:  # the image vector's src=/
            route.fulfill(status=404, body="")
            return
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if csp_for.get(n):
            headers["Content-Security-Policy"] = CSP
        body = f"<!doctype html><html><body><div data-user-content>{UNSAFE_SAMPLES[n]}</div></body></html>"
        route.fulfill(status=200, headers=headers, body=body)

    page.route(unsafe + "**", serve)
    for n, sample in enumerate(UNSAFE_SAMPLES):
        page.goto(f"{unsafe}{n}")
        found = sweep(page, detector)
        ran = [p for p in found if not p.startswith("dom:")]
        assert ran, f"the detector missed {sample!r}: {found}"
        assert any(p.startswith("dom:") for p in found), f"the DOM audit missed {sample!r}"

    # With the site's CSP the handler is blocked, and the blocked attempt is itself a hit.
    n = UNSAFE_SAMPLES.index('<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>')
    csp_for[n] = True
    page.goto(f"{unsafe}{n}")
    found = sweep(page, detector)
    assert any("CSP" in p or "Content Security Policy" in p for p in found), found
    assert not any(p.startswith("alert(") for p in found), found
    context.close()
