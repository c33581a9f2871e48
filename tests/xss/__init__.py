"""The cross-site scripting corpus (``vectors.txt``) and the helpers that plant it in a site.

Every vector goes in through the same HTTP endpoints a reader or a remote blog
uses: the comment form (body, name, website) and TrackBack (title, excerpt,
blog_name, url). What the site accepts is then approved in the database so it
renders on the public page, in the comments feed and in the moderation queue.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

VECTORS_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "xss" / "vectors.txt"

# \n \r \t \\ and \u{HEX}; any other backslash is part of the vector (JS and CSS escapes stay as written).
_ESCAPE = re.compile(r"\\(?:([nrt\\])|u\{([0-9A-Fa-f]{1,6})\})")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}

# The fields a vector is planted in; the browser and page tests report per field.
FIELDS = (
    "comment body",
    "comment name",
    "comment website",
    "comment website (in a URL)",
    "trackback title",
    "trackback excerpt",
    "trackback blog_name",
    "trackback url",
    "trackback url (in a URL)",
)


def _unescape(line: str) -> str:
    return _ESCAPE.sub(lambda m: _SIMPLE[m.group(1)] if m.group(1) else chr(int(m.group(2), 16)), line)


def load_vectors() -> list[str]:
    """The vectors, decoded, in file order. Lines starting with "# " are comments."""
    text = VECTORS_PATH.read_text(encoding="utf-8")
    # split("\n"), not splitlines(): a vector may hold U+2028 or a form feed.
    return [_unescape(line) for line in text.split("\n") if line and not line.startswith("# ")]


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_ISSUED = re.compile(r'name="issued" type="hidden" value="([^"]+)"')


def _in_url(prefix: str, vector: str) -> str:
    """The vector inside an otherwise valid URL; whitespace and controls %-encoded as a browser
    would send them, everything else (quotes, angle brackets) left as it is."""
    return prefix + "".join(quote(c) if ord(c) <= 0x20 or ord(c) == 0x7F else c for c in vector)


@dataclass
class Planted:
    """How many vectors each field took (accepted) or turned away (rejected)."""

    accepted: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)

    def note(self, name: str, ok: bool) -> None:
        (self.accepted if ok else self.rejected)[name] += 1


class Planter:
    """Posts vectors into one article through a Flask test client (CSRF token sent as a browser would)."""

    def __init__(self, client, slug: str, planted: Planted):
        self.client = client
        self.slug = slug
        self.planted = planted
        page = client.get(f"/article/{slug}").get_data(as_text=True)
        token = _TOKEN.search(page)
        self.token = token.group(1) if token else ""
        self.issued = _ISSUED.search(page).group(1)

    def comment(self, **fields) -> bool:
        data = {
            "csrf_token": self.token,
            "issued": self.issued,
            "email": "",
            "website": "",
            "parent_id": "",
            "homepage": "",
            **fields,
        }
        # As htmx posts it: the answer is a fragment, so a rejection does not re-render the whole page.
        response = self.client.post(f"/article/{self.slug}/comments", data=data, headers={"HX-Request": "true"})
        assert response.status_code in (201, 422), (response.status_code, fields)
        # A stamp posts one comment; both answers carry the next one, as the browser's form gets it.
        self.issued = _ISSUED.search(response.get_data(as_text=True)).group(1)
        return response.status_code == 201

    def trackback(self, **fields) -> bool:
        response = self.client.post(f"/article/{self.slug}/trackback", data=fields)
        assert response.mimetype == "text/xml", response.get_data(as_text=True)
        return b"<error>0</error>" in response.data

    def plant(self, n: int, vector: str) -> None:
        """Vector ``n`` through every reader-controlled field. One comment carries it as body,
        name and website (inside a URL); if any of those fields turns it away, each goes
        again on its own, so a rejection in one field cannot hide another."""
        note = self.planted.note
        in_url = f"https://example.org/{n}/{vector}"
        together = ("comment body", "comment name", "comment website (in a URL)")
        if self.comment(name=vector, website=in_url, body=vector):
            for name in together:
                note(name, True)
        else:
            note("comment body", self.comment(name=f"Body {n}", body=vector))
            note("comment name", self.comment(name=vector, body=f"Name field, vector {n}."))
            note(
                "comment website (in a URL)",
                self.comment(name=f"Web link {n}", website=in_url, body=f"Website field inside a URL, vector {n}."),
            )
        note("comment website", self.comment(name=f"Web {n}", website=vector, body=f"Website field, vector {n}."))
        ok = self.trackback(url=f"https://blog{n}.example.org/post", title=vector, excerpt=vector, blog_name=vector)
        for name in ("trackback title", "trackback excerpt", "trackback blog_name"):
            note(name, ok)
        note("trackback url", self.trackback(url=vector, title=f"Raw URL, vector {n}"))
        note(
            "trackback url (in a URL)",
            self.trackback(url=_in_url(f"https://links{n}.example.org/", vector), title=f"URL, vector {n}"),
        )


def plant_all(app, client, articles, groups: list[list[str]]) -> Planted:
    """Plant ``groups[i]`` in ``articles[i]``, then approve everything so it all renders."""
    from sqlalchemy import update

    from extensions import db
    from models import Comment
    from services.discussion import refresh_counts

    planted = Planted()
    n = 0
    for article, group in zip(articles, groups, strict=True):
        planter = Planter(client, article.slug, planted)
        for vector in group:
            planter.plant(n, vector)
            n += 1
    ids = [a.id for a in articles]
    with app.app_context():
        db.session.execute(update(Comment).where(Comment.article_id.in_(ids)).values(status="approved"))
        for article_id in ids:
            refresh_counts(article_id)
        db.session.commit()
    return planted
