"""Where spam and moderation are decided for a new comment.

The rules follow WordPress's discussion settings (see ANCHORS §1.3): block words
and banned senders go to spam; hold words and too many links wait for a
moderator; the policy decides the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, select

from extensions import db
from models import Comment, CommentKind, CommentStatus
from services.settings import DiscussionSettings

_LINK = re.compile(r"https?://|www\.|<a\s", re.I)


def _words(setting: str) -> list[str]:
    return [w.strip().lower() for w in setting.splitlines() if w.strip()]


def _matches(words: list[str], *texts: str) -> str | None:
    haystack = "\n".join(texts).lower()
    for w in words:
        if w in haystack:
            return w
    return None


def count_links(text: str) -> int:
    return len(_LINK.findall(text))


@dataclass
class Verdict:
    status: str
    reason: str = ""


def is_banned(settings: DiscussionSettings, ip: str, email: str) -> bool:
    ips = set(_words(settings.banned_ips))
    emails = set(_words(settings.banned_emails))
    return bool((ip and ip.lower() in ips) or (email and email.lower() in emails))


def judge(
    settings: DiscussionSettings,
    *,
    name: str,
    email: str,
    url: str,
    body: str,
    ip: str,
    staff: bool = False,
) -> Verdict:
    """The status a new reader comment starts in, and why."""
    if staff:
        return Verdict(CommentStatus.APPROVED.value, "staff")
    word = _matches(_words(settings.block_words), name, email, url, body, ip)
    if word or is_banned(settings, ip, email):
        return Verdict(CommentStatus.SPAM.value, "blocklist")
    if _matches(_words(settings.hold_words), name, email, url, body, ip):
        return Verdict(CommentStatus.PENDING.value, "hold word")
    # A comment with more links than allowed is a classic spam shape (WordPress holds at 2).
    if count_links(body) > settings.max_links:
        return Verdict(CommentStatus.PENDING.value, "too many links")
    if settings.moderation == "all":
        return Verdict(CommentStatus.PENDING.value, "all comments are moderated")
    if settings.moderation == "first_time" and not _previously_approved(name, email):
        return Verdict(CommentStatus.PENDING.value, "first comment")
    return Verdict(CommentStatus.APPROVED.value)


def _previously_approved(name: str, email: str) -> bool:
    if not email:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Comment.author_name == name,
                    Comment.author_email == email,
                    Comment.kind == CommentKind.COMMENT.value,
                    Comment.status == CommentStatus.APPROVED.value,
                )
            )
        )
    )
