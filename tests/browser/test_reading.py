"""A reader opens the site in Chromium."""

from __future__ import annotations


def test_reader_opens_an_article_from_the_front_page(live_server, page, seeded):
    page.goto(live_server.url + "/")
    first = page.locator("main article").first
    title = first.locator("h2 a").inner_text()
    first.locator("h2 a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    assert page.locator("#comments h2").inner_text().endswith("Comments")
    # Threads nest in the DOM: some comment sits three levels inside another.
    assert page.locator(".comment .comment .comment").count() >= 1
    assert page.locator("figure figcaption").count() == 1
    # htmx loaded from our own origin, and the strict CSP raised no complaint.
    assert page.evaluate("typeof window.htmx") == "object"
    assert not [m for m in page.console_messages if "Content Security Policy" in m or "pageerror" in m]


def test_phone_layout_has_no_horizontal_scroll(live_server, browser, seeded):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/")
    slug = page.locator("main article h2 a").first.get_attribute("href")
    for url in ["/", slug]:
        page.goto(live_server.url + url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), url
    context.close()
