"""Site settings stored in the database, with typed defaults.

Settings are read once per request (one query) and cached on ``flask.g``;
a change takes effect on the next request.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from flask import g, has_app_context

from extensions import db
from models import Setting


@dataclass
class DiscussionSettings:
    # "open": publish at once unless the spam rules hold it;
    # "first_time": hold first-time commenters (WordPress's default);
    # "all": hold every comment.
    moderation: str = "open"
    # Deeper threads get unreadable on a phone; 5 is WordPress's default.
    max_depth: int = 5
    threads_per_page: int = 50
    thread_order: str = "oldest"  # or "newest"
    close_after_days: int = 0  # 0 = never close automatically
    flood_seconds: int = 15
    max_links: int = 2  # more links than this holds a comment
    hold_words: str = ""  # one per line: a match holds for moderation
    block_words: str = ""  # one per line: a match goes to spam
    reports_to_hold: int = 3
    verify_linkbacks: bool = True
    banned_ips: str = ""
    banned_emails: str = ""
    public_moderation_log: bool = False

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def load() -> DiscussionSettings:
    """The current settings (one query per request)."""
    if has_app_context() and "gazette_settings" in g:
        return g.gazette_settings
    values = {}
    known = {f.name: f.type for f in fields(DiscussionSettings)}
    for row in db.session.execute(db.select(Setting)).scalars():
        if row.key in known:
            try:
                values[row.key] = json.loads(row.value)
            except ValueError:
                continue
    settings = DiscussionSettings(**values)
    if has_app_context():
        g.gazette_settings = settings
    return settings


# A counter bumped by every save(): cached pages include it in their key.
VERSION_KEY = "_version"


def save(settings: DiscussionSettings) -> None:
    """Store every setting and bump the settings version; the caller commits."""
    for key, value in asdict(settings).items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
    version = db.session.get(Setting, VERSION_KEY)
    if version is None:
        db.session.add(Setting(key=VERSION_KEY, value="1"))
    else:
        version.value = str(int(version.value or "0") + 1)
    if has_app_context():
        g.pop("gazette_settings", None)
