"""A moderator can work the queue with the keyboard alone."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_admin import _no_csp_errors, _sign_in, site  # noqa: F401 - the fixture is used by name


def test_moderator_approves_with_tab_and_enter(live_server, page, site):  # noqa: F811
    base = live_server.url
    _sign_in(page, base)
    page.goto(base + "/admin/comments")
    q = site["question"]
    row = page.locator(f"#qrow-{q.id}")
    # Start at the row's checkbox and move with Tab only, as a keyboard user would.
    page.locator(f"#select-{q.id}").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.textContent.trim()")
        if label == "Approve" and page.evaluate(f"document.activeElement.closest('#qrow-{q.id}') !== null"):
            break
    else:
        raise AssertionError("Tab never reached the row's Approve button")
    page.keyboard.press("Enter")
    expect(row.locator(".qrow__notice")).to_contain_text("Approved.")
    expect(page.locator("#admin-live")).to_have_text("Approved.")
    # Focus comes back within the row (once the swap settles), so the next Tab continues from there.
    page.wait_for_function(
        f"() => document.activeElement !== null && document.activeElement.closest('#qrow-{q.id}') !== null",
        timeout=5000,
    )
    _no_csp_errors(page)
