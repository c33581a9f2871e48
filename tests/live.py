"""A real HTTP server running the app in a thread (werkzeug), for protocol tests over the wire."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class LiveServer:
    """``with LiveServer(app) as server:`` serves ``app`` on ``server.url`` (127.0.0.1, a free port)."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits up to one interval.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def article_url(self, article) -> str:
        return f"{self.url}/article/{article.slug}"

    def trackback_url(self, article) -> str:
        return f"{self.url}/article/{article.slug}/trackback"
