"""Readers' pages: front page, articles, categories, tags, feeds and discovery."""

from flask import Blueprint

bp = Blueprint("news", __name__)

from blueprints.news import feeds, routes  # noqa: E402,F401
