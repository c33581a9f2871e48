"""Readers' comments: post, reply, edit and withdraw one's own, report."""

from flask import Blueprint

bp = Blueprint("comments", __name__)

from blueprints.comments import routes  # noqa: E402,F401
