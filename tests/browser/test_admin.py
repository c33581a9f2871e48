"""An admin runs the site from the dashboard in Chromium: sign in, publish, moderate, change a rule."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.admin_helpers import PASSWORD
from tests.factories import Factory


def _sign_in(page, base: str, username: str = "admin") -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/admin/")


def _no_csp_errors(page) -> None:
    bad = [m for m in page.console_messages if "Content Security Policy" in m or "pageerror" in m]
    assert not bad, bad


@pytest.fixture
def site(live_app):
    f = Factory(live_app)
    f.user("admin")
    article = f.article("Regatta day on the bay", tags=["regatta"])
    question = f.comment(article, body="Is the regatta still on?", name="Maya", status="pending")
    bots = [f.comment(article, body=f"Cheap watches {i}", name=f"Bot {i}", status="pending") for i in range(3)]
    return {"article": article, "question": question, "bots": bots}


def test_admin_publishes_an_article_with_an_image(live_server, page, tmp_path, site):
    base = live_server.url
    _sign_in(page, base)
    photo = tmp_path / "crane.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1200), (230, 180, 20)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    page.get_by_role("link", name="New article").first.click()
    page.get_by_label("Title", exact=True).fill("New harbour crane arrives")
    page.get_by_label("Body", exact=True).fill("The crane arrived **today** on a barge.")
    # The live preview renders the Markdown as readers will see it.
    expect(page.locator("#preview strong")).to_have_text("today")
    page.get_by_role("radio", name="Published").check()
    page.get_by_label("Tags", exact=True).fill("harbour, cranes")
    page.set_input_files("#lead_image", str(photo))
    page.get_by_label("Alt text", exact=True).fill("A yellow crane on the quay")
    page.get_by_label("Caption", exact=True).fill("The new crane, unloaded at dawn.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#admin-flash")).to_contain_text("is published")

    page.get_by_role("link", name="View on the site").click()
    expect(page.locator("h1")).to_have_text("New harbour crane arrives")
    image = page.get_by_role("img", name="A yellow crane on the quay")
    expect(image).to_be_visible()
    assert page.evaluate("document.querySelector('.story__photo img').naturalWidth") == 1600
    expect(page.locator("figcaption")).to_have_text("The new crane, unloaded at dawn.")
    _no_csp_errors(page)


def test_admin_moderates_inline_then_bulk_spams_without_reloading(live_server, page, site):
    base = live_server.url
    _sign_in(page, base)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Comments").click()
    expect(page.locator("#count-pending")).to_have_text("4")
    # A marker on window survives only if the page is never reloaded.
    page.evaluate("window.gazetteMarker = 'still here'")

    q = site["question"]
    row = page.locator(f"#qrow-{q.id}")
    row.get_by_role("button", name="Approve").click()
    expect(row.locator(".qrow__notice")).to_contain_text("Approved.")
    expect(row.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.locator("#count-pending")).to_have_text("3")
    expect(page.locator("#count-approved")).to_have_text("1")
    expect(page.locator("#nav-pending")).to_contain_text("3")
    expect(page.locator("#admin-live")).to_have_text("Approved.")
    # Keyboard focus stays on the row that changed.
    page.wait_for_function(
        f"() => document.activeElement !== null && document.activeElement.closest('#qrow-{q.id}') !== null",
        timeout=5000,
    )

    for bot in site["bots"]:
        page.locator(f"#select-{bot.id}").check()
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    page.get_by_label("With the selected").select_option("spam")
    page.get_by_label("Reason").select_option("Spam")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#admin-flash")).to_contain_text("3 comments changed.")
    for bot in site["bots"]:
        expect(page.locator(f"#qrow-{bot.id} .qrow__notice")).to_contain_text("Marked as spam.")
    expect(page.locator("#count-spam")).to_have_text("3")
    expect(page.locator("#count-pending")).to_have_text("0")

    # Undo all puts them back, still without a reload.
    page.get_by_role("button", name="Undo all").click()
    expect(page.locator("#count-pending")).to_have_text("3")
    expect(page.locator("#count-spam")).to_have_text("0")
    assert page.evaluate("window.gazetteMarker") == "still here"

    # The Undo offer goes away by itself after a few seconds.
    expect(row.get_by_role("button", name="Undo")).to_have_count(0, timeout=12_000)
    expect(row.locator(".qrow__notice")).to_contain_text("Approved.")
    _no_csp_errors(page)


def test_a_changed_setting_takes_effect_on_the_public_page(live_server, page, site):
    base = live_server.url
    article = site["article"]
    _sign_in(page, base)
    page.goto(base + "/admin/comments")
    page.locator(f"#qrow-{site['question'].id}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#qrow-{site['question'].id} .qrow__notice")).to_contain_text("Approved.")

    page.goto(f"{base}/article/{article.slug}")
    question = page.locator(f"#comment-{site['question'].id}")
    expect(question.get_by_role("link", name="Reply")).to_have_count(1)

    page.goto(base + "/admin/settings")
    page.get_by_label("Maximum reply depth").fill("1")
    page.get_by_label("Hold every comment for a moderator").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#admin-flash")).to_contain_text("Settings saved.")

    page.goto(f"{base}/article/{article.slug}")
    expect(question).to_be_visible()
    expect(question.get_by_role("link", name="Reply")).to_have_count(0)
    # "Hold every comment": a new comment waits for moderation.
    form = page.locator("#comment-form")
    form.get_by_role("textbox", name="Name", exact=True).fill("Newcomer")
    form.get_by_role("textbox", name="Comment", exact=True).fill("First time here, hello!")
    form.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".comment__pending")).to_have_text("Your comment is awaiting moderation.")
    _no_csp_errors(page)


def test_sign_in_errors_show_and_the_dashboard_is_keyboard_usable(live_server, page, site):
    base = live_server.url
    page.goto(base + "/admin/")
    expect(page).to_have_url(base + "/admin/login?next=/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/admin/")
    # Tab from the top reaches the skip link first, and the navigation after it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    _no_csp_errors(page)


ADMIN_PAGES = [
    "/admin/",
    "/admin/articles",
    "/admin/articles/new",
    "/admin/comments",
    "/admin/comments?status=reported",
    "/admin/categories",
    "/admin/tags",
    "/admin/settings",
    "/admin/users",
    "/admin/audit",
]


def test_dashboard_pages_pass_axe(live_server, page, site):
    from tests.browser.axe_check import violations

    base = live_server.url
    page.goto(base + "/admin/login")
    assert violations(page) == [], "/admin/login"
    _sign_in(page, base)
    for path in ADMIN_PAGES:
        page.goto(base + path)
        assert violations(page) == [], path
    # After htmx swaps: a row with its notice and Undo, the inline editor, the reply form.
    page.goto(base + "/admin/comments")
    bots = site["bots"]
    page.locator(f"#qrow-{bots[0].id}").get_by_role("button", name="Spam").click()
    expect(page.locator(f"#qrow-{bots[0].id} .qrow__notice")).to_be_visible()
    page.locator(f"#qrow-{bots[1].id}").get_by_role("link", name="Edit").click()
    expect(page.locator(f"#qrow-{bots[1].id}.qrow--editing")).to_be_visible()
    page.locator(f"#qrow-{bots[2].id}").get_by_role("link", name="Approve and reply").click()
    expect(page.locator(f"#qrow-{bots[2].id}-slot textarea")).to_be_focused()
    assert violations(page) == [], "comments after swaps"


def test_public_moderation_log_passes_axe(live_server, live_app, page, site):
    from extensions import db
    from services import settings as site_settings
    from tests.browser.axe_check import violations

    base = live_server.url
    _sign_in(page, base)
    page.goto(base + "/admin/comments")
    page.locator(f"#qrow-{site['bots'][0].id}").get_by_role("button", name="Spam").click()
    expect(page.locator(f"#qrow-{site['bots'][0].id} .qrow__notice")).to_be_visible()
    with live_app.app_context():
        s = site_settings.load()
        s.public_moderation_log = True
        site_settings.save(s)
        db.session.commit()
    page.goto(base + "/moderation")
    expect(page.locator("h1")).to_have_text("Moderation log")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert violations(page) == []
    _no_csp_errors(page)
