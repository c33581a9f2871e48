"""Page numbers from the query string, validated."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import abort, request

# Anything past this is a crawler guessing, not a reader.
MAX_PAGE = 100_000


def page_arg(name: str = "page") -> int:
    """The requested page number; 404 for anything that is not a positive integer."""
    raw = request.args.get(name, "1")
    if not raw.isdigit() or len(raw) > 6:
        abort(404)
    page = int(raw)
    if page < 1 or page > MAX_PAGE:
        abort(404)
    return page


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def check_in_range(page: int, total: int, per_page: int) -> None:
    """A page past the last one is a 404, except page 1 of an empty list."""
    if page > 1 and (page - 1) * per_page >= total:
        abort(404)
