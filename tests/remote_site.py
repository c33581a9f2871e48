"""Another website, for real: a ThreadingHTTPServer on 127.0.0.1 serving configurable pages.

It plays the citing blog when we verify a linkback (a page that links to our
article, one that does not, a 410, a slow page, a huge page, redirect chains),
and the cited blog when we send pings (Webmention, Pingback and TrackBack
endpoints that record what they receive).
"""

from __future__ import annotations

import contextlib
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Hit:
    """One request the remote site received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    form: dict[str, str] = field(default_factory=dict)
    call: tuple | None = None


Route = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet test output
        pass

    def _dispatch(self) -> None:
        site = self.server.site
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        hit = Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        site.hits.append(hit)
        route = site.routes.get((self.command, path)) or site.routes.get(("*", path))
        if route is None:
            self.reply(404, b"not found", "text/plain")
            return
        self.hit = hit
        # The app may hang up early (size cap, timeout): that is the point of some pages.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    do_GET = do_POST = do_HEAD = _dispatch

    def reply(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    site: RemoteSite


def blog_page(title: str, body: str, site_name: str = "Remote Blog", head: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta property='og:site_name' content='{escape(site_name)}'>{head}</head>"
        f"<body><article><h1>{escape(title)}</h1>{body}</article></body></html>"
    )


class RemoteSite:
    """``with RemoteSite() as site:`` — register pages, then point the app at ``site.url + path``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.site = self
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits up to one interval.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> RemoteSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _add(self, path: str, route: Route, method: str = "*") -> str:
        self.routes[(method, path)] = route
        return self.url + path

    # ------------------------------------------------------------ pages

    def page(
        self, path: str, html: str, status: int = 200, content_type: str = "text/html; charset=utf-8", headers=None
    ):
        body = html.encode("utf-8")
        return self._add(path, lambda h: h.reply(status, body, content_type, headers))

    def linking_page(self, path: str, target: str, title: str = "A post that cites you", site_name="Remote Blog"):
        """A blog post whose paragraph links to ``target``."""
        body = (
            "<p>Some context before the link. As the Gazette "
            f"<a href='{escape(target)}'>reported this week</a>, the harbour wall will be repaired.</p>"
            "<p>More words after it.</p>"
        )
        return self.page(path, blog_page(title, body, site_name))

    def plain_page(self, path: str, title: str = "A post about something else"):
        """A blog post that links elsewhere, not to us."""
        return self.page(path, blog_page(title, "<p>Nothing to see. <a href='https://example.org/x'>x</a></p>"))

    def gone(self, path: str) -> str:
        return self._add(path, lambda h: h.reply(410, b"<p>Gone</p>"))

    def slow(self, path: str, seconds: float, html: str = "<p>late</p>") -> str:
        """Answers only after ``seconds`` (longer than the app's fetch timeout)."""

        def route(h: _Handler) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not self.stopping.is_set():
                time.sleep(0.05)
            h.reply(200, html.encode())

        return self._add(path, route)

    def drip(self, path: str, seconds: float, html: str) -> str:
        """Sends ``html`` a byte at a time, spread over ``seconds``: a slow server that
        never trips a read timeout."""

        def route(h: _Handler) -> None:
            body = html.encode()
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            pause = seconds / max(len(body), 1)
            for i in range(len(body)):
                if self.stopping.is_set():
                    return
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
                time.sleep(pause)

        return self._add(path, route)

    def huge(self, path: str, size: int, head: str = "", tail: str = "") -> str:
        """An HTML page of ``size`` bytes of filler (streamed, no Content-Length), with ``head``/``tail`` around it."""

        def route(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(f"<html><body><p>{head}</p>".encode())
            chunk = b"<p>" + b"filler " * 1000 + b"</p>\n"
            sent = 0
            while sent < size and not self.stopping.is_set():
                h.wfile.write(chunk)
                sent += len(chunk)
            h.wfile.write(f"<p>{tail}</p></body></html>".encode())
            h.close_connection = True

        return self._add(path, route)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self._add(path, lambda h: h.reply(status, b"", "text/plain", {"Location": location}))

    def redirect_chain(self, path: str, hops: int, final: str) -> str:
        """``path`` → ``path/1`` → … → ``path/hops`` → ``final``."""
        steps = [path] + [f"{path}/{i}" for i in range(1, hops)]
        for i, step in enumerate(steps):
            self.redirect(step, steps[i + 1] if i + 1 < len(steps) else final)
        return self.url + path

    # ------------------------------------------------------------ ping endpoints (for sending)

    def webmention_endpoint(self, path: str = "/webmention", status: int = 202) -> str:
        def route(h: _Handler) -> None:
            h.hit.form = {k: v[0] for k, v in parse_qs(h.hit.body.decode()).items()}
            h.reply(status, b"Accepted", "text/plain")

        return self._add(path, route, "POST")

    def pingback_endpoint(self, path: str = "/xmlrpc.php", fault: int | None = None) -> str:
        def route(h: _Handler) -> None:
            params, method = xmlrpc.client.loads(h.hit.body)
            h.hit.call = (method, *params)
            if fault is not None:
                body = xmlrpc.client.dumps(xmlrpc.client.Fault(fault, "no"), methodresponse=True)
            else:
                body = xmlrpc.client.dumps(("Pingback registered.",), methodresponse=True)
            h.reply(200, body.encode(), "text/xml")

        return self._add(path, route, "POST")

    def trackback_endpoint(self, path: str, error: int = 0) -> str:
        def route(h: _Handler) -> None:
            h.hit.form = {k: v[0] for k, v in parse_qs(h.hit.body.decode("utf-8")).items()}
            message = "" if error == 0 else "<message>Refused</message>"
            body = f'<?xml version="1.0" encoding="utf-8"?><response><error>{error}</error>{message}</response>'
            h.reply(200, body.encode(), "text/xml")

        return self._add(path, route, "POST")

    def posts_to(self, path: str) -> list[Hit]:
        """The POSTs an endpoint received."""
        return [h for h in self.hits if h.method == "POST" and urlsplit(h.path).path == path]
