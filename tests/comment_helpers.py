"""Building comment form posts the way a browser would."""

from __future__ import annotations

import time

from services import discussion


def stamp(app, seconds_ago: float = 10) -> str:
    with app.test_request_context():
        return discussion.issue_stamp(time.time() - seconds_ago)


def form(app, parent=None, seconds_ago: float = 10, **fields) -> dict:
    """Form fields for a new comment (or a reply to ``parent``)."""
    prefix = f"r{parent.id}-" if parent is not None else ""
    data = {
        "name": "Ann Reader",
        "email": "",
        "website": "",
        "body": "A thoughtful comment.",
        "parent_id": str(parent.id) if parent is not None else "",
        "issued": stamp(app, seconds_ago),
        "homepage": "",
    }
    data.update(fields)
    return {prefix + k: v for k, v in data.items()}


def set_settings(app, **values) -> None:
    from extensions import db
    from services import settings

    with app.app_context():
        s = settings.load()
        for k, v in values.items():
            setattr(s, k, v)
        settings.save(s)
        db.session.commit()
