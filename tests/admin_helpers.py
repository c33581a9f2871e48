"""Dashboard test helpers: staff accounts and a signed-in client, in the manner of flaskr's `auth`.

Test modules pick the fixtures they need by assignment, e.g. ``auth = admin_helpers.auth``.
"""

from __future__ import annotations

import re

import pytest

PASSWORD = "correct horse battery"


class AuthActions:
    """Sign a test client in and out of the dashboard."""

    def __init__(self, client, factory):
        self.client = client
        self.factory = factory
        self._users: dict[str, object] = {}

    def user(self, username: str = "admin", role: str = "admin", password: str = PASSWORD):
        if username not in self._users:
            self._users[username] = self.factory.user(username=username, password=password, role=role)
        return self._users[username]

    def login(self, username: str = "admin", password: str = PASSWORD, role: str = "admin", **extra):
        self.user(username, role=role, password=password)
        data = {"username": username, "password": password, **extra}
        token = csrf_token_from(self.client.get("/admin/login").get_data(as_text=True))
        if token:
            data["csrf_token"] = token
        return self.client.post("/admin/login", data=data)

    def login_admin(self):
        response = self.login("admin", role="admin")
        assert response.status_code == 303, response.get_data(as_text=True)
        return self._users["admin"]

    def login_editor(self):
        response = self.login("editor", role="editor")
        assert response.status_code == 303, response.get_data(as_text=True)
        return self._users["editor"]

    def logout(self):
        token = csrf_token_from(self.client.get("/admin/").get_data(as_text=True))
        return self.client.post("/admin/logout", data={"csrf_token": token} if token else {})


_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token_from(html: str) -> str | None:
    """The CSRF token a page carries (meta tag or hidden field), as the browser would send it."""
    match = _TOKEN.search(html)
    if not match:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        return match.group(1) if match else None
    return match.group(1) or match.group(2)


@pytest.fixture
def auth(client, factory):
    return AuthActions(client, factory)


@pytest.fixture
def admin_client(client, auth):
    """A client signed in as an admin."""
    auth.login_admin()
    return client


@pytest.fixture
def editor_client(client, auth):
    """A client signed in as an editor."""
    auth.login_editor()
    return client


HX = {"HX-Request": "true"}
