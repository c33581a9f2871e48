"""Run axe-core (WCAG 2.1 A and AA rules) on a page and describe what fails."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
_axe = Axe()


def violations(page) -> list[str]:
    """One line per failing rule and element; an empty list means the page passes."""
    results = _axe.run(page, options=WCAG_21_AA)
    found = []
    for v in results.response["violations"]:
        for node in v["nodes"]:
            found.append(f"{v['id']} ({v['impact']}): {node['target']} — {node.get('failureSummary', '')}")
    return found
