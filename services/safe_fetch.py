"""The one HTTP client for every outbound request (verifying and sending linkbacks).

Anyone on the internet can make us fetch a URL (that is what a linkback is), so
every request here is treated as hostile:

- only ``http`` and ``https``, no credentials in the URL;
- the host is resolved here and *every* address it resolves to must be public
  (not loopback, private, link-local, multicast, reserved…) unless the app runs
  with ``ALLOW_PRIVATE_FETCH`` (``GAZETTE_ALLOW_PRIVATE_FETCH``, tests only);
- the connection goes to the address that was checked, never to a second DNS
  answer, so DNS rebinding cannot swap in an internal address;
- each redirect hop is checked again, and there are at most ``MAX_REDIRECTS``;
- connect and read timeouts plus an overall deadline, and a size cap on the body.

Standard library only (``http.client``): nothing else to audit.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urljoin, urlsplit

from flask import current_app, has_app_context

# A slow or silent remote must never hold a worker for long.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
# Wall-clock budget for one fetch, redirects included: a server that drips one
# byte just inside the read timeout would otherwise keep us forever.
TOTAL_TIMEOUT = 10.0
# Linkback pages are articles, not downloads; the Webmention recommendation
# suggests reading only the first megabyte.
MAX_BYTES = 1024 * 1024
# Enough for http→https and a moved permalink; more is a loop or a trick.
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 2000
REDIRECT_CODES = {301, 302, 303, 307, 308}
USER_AGENT = "Gazette/1.0 (linkbacks)"


class FetchError(Exception):
    """A fetch that was refused or failed. ``reason`` is one of:
    ``invalid`` (bad URL or scheme), ``blocked`` (address not allowed),
    ``network`` (DNS, connection, TLS), ``timeout``, ``redirects``, ``http`` (malformed response).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def transient(self) -> bool:
        """Worth trying again later (as opposed to a URL that will never be fetchable)."""
        return self.reason in {"network", "timeout"}


@dataclass
class Response:
    """What came back: the final URL after redirects, status, headers and (capped) body."""

    url: str
    status: int
    headers: Message
    body: bytes = b""
    truncated: bool = False
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type() if self.headers.get("Content-Type") else ""

    @property
    def charset(self) -> str | None:
        return self.headers.get_content_charset() if self.headers.get("Content-Type") else None

    def header_all(self, name: str) -> list[str]:
        return list(self.headers.get_all(name) or [])

    def text(self) -> str:
        """The body decoded with its declared charset (or a <meta charset>), falling back to UTF-8."""
        charset = self.charset or _sniff_charset(self.body)
        try:
            return self.body.decode(charset or "utf-8", errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _sniff_charset(body: bytes) -> str | None:
    head = body[:2048].lower()
    marker = head.find(b"charset=")
    if marker < 0:
        return None
    rest = head[marker + 8 :].lstrip(b"\"' ")
    name = bytes(c for c in rest[:40] if chr(c).isalnum() or chr(c) in "-_.:")
    return name.decode("ascii") or None


def private_allowed() -> bool:
    """Whether loopback and private addresses may be fetched (tests run a local server)."""
    return bool(has_app_context() and current_app.config.get("ALLOW_PRIVATE_FETCH"))


def address_allowed(ip: str, allow_private: bool = False) -> bool:
    """True when ``ip`` is a public unicast address (or anything, with ``allow_private``)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return True
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return (
        addr.is_global
        and not addr.is_multicast
        and not addr.is_reserved
        and not addr.is_loopback
        and not addr.is_link_local
        and not addr.is_unspecified
        and not addr.is_private
    )


def check_url(url: str) -> tuple[str, str, int]:
    """Validate the shape of an outbound URL; return (scheme, host, port). Raises FetchError."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise FetchError("invalid", "The URL is missing or too long.")
    if any(c in url for c in "\r\n\t\x00 "):
        raise FetchError("invalid", "The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError("invalid", "The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise FetchError("invalid", "Only http and https URLs can be fetched.")
    if not parts.hostname:
        raise FetchError("invalid", "The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise FetchError("invalid", "URLs with credentials are not fetched.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def plainly_refused(url: str, allow_private: bool | None = None) -> bool:
    """True when ``url`` names an address ``fetch()`` would refuse, without a DNS lookup
    (an IP literal or ``localhost``): lets a request be turned down at once."""
    allow = private_allowed() if allow_private is None else allow_private
    if allow:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address_allowed(host)


def resolve(host: str, port: int, allow_private: bool) -> str:
    """Resolve ``host`` and return one address to connect to; every answer must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise FetchError("network", f"The host {host} could not be resolved.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError("network", f"The host {host} could not be resolved.")
    # All answers, not just the first: a name resolving to one public and one
    # internal address is an attack, not a configuration mistake.
    if not all(address_allowed(a, allow_private) for a in addresses):
        raise FetchError("blocked", f"The host {host} resolves to an address that is not public.")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an already-checked address, sending the real Host header."""

    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As _PinnedHTTP, with TLS verified against the host name (SNI and certificate)."""

    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        sock.settimeout(READ_TIMEOUT)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _one_request(
    url: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    deadline: float,
    max_bytes: int,
    allow_private: bool,
) -> Response:
    scheme, host, port = check_url(url)
    ip = resolve(host, port, allow_private)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError("timeout", "The remote site took too long to answer.")
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = connection_class(host, port, ip, timeout=min(CONNECT_TIMEOUT, remaining))
    # A hard stop for the whole exchange: closing the socket wakes a blocked read.
    watchdog = threading.Timer(remaining, _abort, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request(method, path, body=body, headers=headers)
        raw = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        truncated = False
        if method != "HEAD":
            while True:
                if time.monotonic() > deadline:
                    raise FetchError("timeout", "The remote site took too long to answer.")
                chunk = raw.read1(min(65536, max_bytes - size + 1))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    # Keep the first max_bytes and stop reading: the rest never reaches memory.
                    truncated = True
                    break
        if time.monotonic() >= deadline:
            # The watchdog closed the socket: what we have is not the whole answer.
            raise FetchError("timeout", "The remote site took too long to answer.")
        data = b"".join(chunks)[:max_bytes]
        return Response(url=url, status=raw.status, headers=raw.msg, body=data, truncated=truncated)
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError("timeout", "The remote site took too long to answer.") from None
    except ssl.SSLError:
        raise FetchError("network", "The TLS connection to the remote site failed.") from None
    except (http.client.HTTPException, ValueError):
        if time.monotonic() >= deadline:
            raise FetchError("timeout", "The remote site took too long to answer.") from None
        raise FetchError("http", "The remote site sent a malformed response.") from None
    except OSError:
        if time.monotonic() >= deadline:
            raise FetchError("timeout", "The remote site took too long to answer.") from None
        raise FetchError("network", "The remote site could not be reached.") from None
    finally:
        watchdog.cancel()
        conn.close()


def _abort(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class TransactionOpen(RuntimeError):
    """A fetch was attempted while a database transaction is open (a bug in the caller)."""


def _refuse_inside_transaction() -> None:
    """Network I/O never happens inside a database transaction: a slow remote site
    would hold a snapshot, row locks or (on SQLite) the site-wide write lock for as
    long as it cares to drip. Callers end their transaction first (``sqlite.write_next``)."""
    from services.sqlite import holds_write_lock

    if holds_write_lock():
        raise TransactionOpen("an outbound fetch while holding the database write lock")
    if has_app_context():
        from extensions import db

        if db.session().in_transaction():
            raise TransactionOpen("an outbound fetch inside an open database transaction")


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: float = TOTAL_TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
    allow_private: bool | None = None,
) -> Response:
    """Fetch ``url`` safely and return the final response (any status). Raises FetchError.

    GET and HEAD follow redirects (each hop re-checked); other methods follow only
    307/308, which keep the method and body. The body is cut at ``max_bytes``
    (``Response.truncated`` says so) and ``timeout`` bounds the whole exchange.
    """
    _refuse_inside_transaction()
    allow = private_allowed() if allow_private is None else allow_private
    method = method.upper()
    sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"}
    # identity only: we never inflate a compressed body (a "zip bomb" of a page).
    sent.update(headers or {})
    deadline = time.monotonic() + timeout
    hops: list[str] = []
    current = url
    while True:
        response = _one_request(current, method, data, sent, deadline, max_bytes, allow)
        response.redirects = hops
        location = response.headers.get("Location")
        if response.status not in REDIRECT_CODES or not location:
            return response
        if method not in {"GET", "HEAD"} and response.status not in {307, 308}:
            return response
        if len(hops) >= max_redirects:
            raise FetchError("redirects", "The remote site redirected too many times.")
        hops.append(current)
        current = urljoin(current, location.strip())
