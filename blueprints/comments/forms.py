"""The comment form: the same fields for a new comment and for a reply."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, DataRequired, Email, Length, Optional, ValidationError

from services.discussion import REPORT_REASONS
from services.sanitize import name_problem, normalise_name

MAX_BODY = 10_000


def _no_nul(form, field) -> None:
    if field.data and ("\x00" in field.data or "\ufffd" in field.data):
        raise ValidationError("Remove the invalid characters from this field.")


def _nfkc(value):
    return normalise_name(value) if isinstance(value, str) else value


def _visible_name(form, field) -> None:
    """No line breaks, direction overrides or zero-width characters; something to see."""
    problem = name_problem((field.data or "").strip()) if field.data else None
    if problem:
        raise ValidationError(problem)


def _http_only(form, field) -> None:
    if field.data and not field.data.lower().startswith(("http://", "https://")):
        raise ValidationError("Enter a web address starting with http:// or https://.")


def _body_field() -> TextAreaField:
    """The comment text, the same when posting and when the author edits it."""
    return TextAreaField(
        "Comment",
        validators=[
            DataRequired("Please write a comment."),
            Length(max=MAX_BODY, message=f"Comments are limited to {MAX_BODY:,} characters."),
            _no_nul,
        ],
        render_kw={"rows": 6, "maxlength": MAX_BODY},
    )


class CommentForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Please enter your name."),
            Length(max=120, message="Keep your name under 120 characters."),
            _no_nul,
            _visible_name,
        ],
        filters=[_nfkc],
        render_kw={"autocomplete": "name", "maxlength": 120},
    )
    email = EmailField(
        "Email",
        validators=[Optional(), Email("Enter a valid email address, or leave it empty."), Length(max=254), _no_nul],
        render_kw={"autocomplete": "email", "maxlength": 254},
    )
    website = URLField(
        "Website",
        validators=[
            Optional(),
            Length(max=500, message="Keep the address under 500 characters."),
            _http_only,
            URL(require_tld=False, message="Enter a web address starting with http:// or https://."),
            _no_nul,
        ],
        render_kw={"autocomplete": "url", "maxlength": 500, "placeholder": "https://"},
    )
    body = _body_field()
    remember = BooleanField("Save my name, email and website in this browser for the next time I comment.")
    parent_id = HiddenField()
    # Spam defences: a field people never see, and when the form was shown (signed).
    homepage = StringField("Leave this field empty", render_kw={"autocomplete": "off", "tabindex": "-1"})
    issued = HiddenField()


class ReportForm(FlaskForm):
    reason = RadioField(
        "Why should a moderator look at this comment?",
        choices=[SelectChoice(value, label) for value, label in REPORT_REASONS.items()],
        validators=[DataRequired("Choose a reason for the report.")],
    )
    note = StringField("Anything else a moderator should know? (optional)", validators=[Optional(), Length(max=500)])


class EditForm(FlaskForm):
    body = _body_field()
