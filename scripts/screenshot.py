"""Screenshot pages of a running Gazette in Debian's Chromium, at phone and desktop widths.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:5000/ /article/some-slug ...

Writes PNGs under screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def main(base: str, paths: list[str]) -> None:
    out = Path("screenshots")
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, (w, h) in SIZES.items():
            page = browser.new_page(viewport={"width": w, "height": h})
            for path in paths or ["/"]:
                page.goto(base.rstrip("/") + path)
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:60] or "front"
                page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
                print(out / f"{name}-{label}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
