"""The SSRF-safe fetcher, against a real local HTTP server."""

from __future__ import annotations

import socket
import time

import pytest

from services import safe_fetch
from services.safe_fetch import FetchError
from tests.remote_site import RemoteSite


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "//example.com/no-scheme",
        "http:///no-host",
        "http://user:secret@example.com/",
        "http://example.com/has space",
        "",
    ],
)
def test_only_plain_http_and_https_urls_are_fetched(url):
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(url, allow_private=True)
    assert info.value.reason == "invalid"


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "not-an-ip",
    ],
)
def test_internal_addresses_are_refused(ip):
    assert not safe_fetch.address_allowed(ip)
    assert safe_fetch.address_allowed(ip, allow_private=True) is (ip != "not-an-ip")


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(ip):
    assert safe_fetch.address_allowed(ip)


def test_loopback_is_refused_unless_private_fetch_is_allowed(make_app, remote):
    url = remote.page("/post", "<p>hello</p>")
    app = make_app(ALLOW_PRIVATE_FETCH=False)
    with app.app_context(), pytest.raises(FetchError) as info:
        safe_fetch.fetch(url)
    assert info.value.reason == "blocked"
    assert remote.hits == []
    app = make_app(ALLOW_PRIVATE_FETCH=True)
    with app.app_context():
        assert safe_fetch.fetch(url).status == 200


def test_a_name_with_any_internal_answer_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch("http://mixed.example/", allow_private=False)
    assert info.value.reason == "blocked"


def test_the_connection_goes_to_the_checked_address(monkeypatch, remote):
    """DNS is asked once; a second (rebinding) answer could never be used."""
    remote.page("/post", "<p>pinned</p>")
    port = int(remote.url.rsplit(":", 1)[1])
    lookups = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        if host == "blog.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    response = safe_fetch.fetch(f"http://blog.example:{port}/post", allow_private=True)
    assert response.status == 200 and b"pinned" in response.body
    # The name is resolved once; the socket is then opened to the literal address.
    assert lookups[0] == "blog.example" and lookups[1:] == ["127.0.0.1"] * (len(lookups) - 1)
    assert remote.hits[-1].headers["host"] == f"blog.example:{port}"


def test_a_page_is_fetched_with_its_headers(remote):
    url = remote.page("/post", "<p>caf\u00e9</p>", headers={"Link": '<https://x.example/wm>; rel="webmention"'})
    response = safe_fetch.fetch(url, allow_private=True)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.text() == "<p>caf\u00e9</p>"
    assert response.header_all("Link") == ['<https://x.example/wm>; rel="webmention"']
    assert remote.hits[-1].headers["accept-encoding"] == "identity"
    assert remote.hits[-1].headers["user-agent"].startswith("Gazette")


def test_redirects_are_followed_and_each_hop_is_checked(remote):
    final = remote.page("/final", "<p>here</p>")
    start = remote.redirect_chain("/r", 3, "/final")
    response = safe_fetch.fetch(start, allow_private=True)
    assert response.status == 200 and response.url == final
    assert len(response.redirects) == 3


def test_a_redirect_to_an_internal_address_is_refused(monkeypatch, remote):
    # Treat the local test server as if it were a public site, nothing else.
    real = safe_fetch.address_allowed
    monkeypatch.setattr(safe_fetch, "address_allowed", lambda ip, allow=False: ip == "127.0.0.1" or real(ip))
    start = remote.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(start, allow_private=False)
    assert info.value.reason == "blocked"


def test_a_redirect_to_another_scheme_is_refused(remote):
    start = remote.redirect("/to-file", "file:///etc/passwd")
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(start, allow_private=True)
    assert info.value.reason == "invalid"


def test_too_many_redirects_are_an_error(remote):
    remote.page("/end", "<p>end</p>")
    start = remote.redirect_chain("/loop", safe_fetch.MAX_REDIRECTS + 2, "/end")
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(start, allow_private=True)
    assert info.value.reason == "redirects"


def test_a_slow_server_times_out_quickly(remote):
    url = remote.slow("/slow", 5)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(url, timeout=0.5, allow_private=True)
    assert info.value.reason == "timeout"
    assert info.value.transient
    assert time.monotonic() - started < 2


def test_a_huge_page_is_cut_at_the_size_cap(remote):
    url = remote.huge("/huge", 4 * 1024 * 1024)
    started = time.monotonic()
    response = safe_fetch.fetch(url, max_bytes=256 * 1024, allow_private=True)
    assert response.truncated
    assert len(response.body) == 256 * 1024
    assert time.monotonic() - started < 3


def test_a_closed_port_is_a_network_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info:
        safe_fetch.fetch(f"http://127.0.0.1:{port}/", allow_private=True)
    assert info.value.reason == "network"


def test_plainly_refused_needs_no_dns():
    assert safe_fetch.plainly_refused("http://127.0.0.1:8080/x", allow_private=False)
    assert safe_fetch.plainly_refused("http://localhost/x", allow_private=False)
    assert safe_fetch.plainly_refused("http://[::1]/x", allow_private=False)
    assert not safe_fetch.plainly_refused("http://blog.example/x", allow_private=False)
    assert not safe_fetch.plainly_refused("http://127.0.0.1/x", allow_private=True)
