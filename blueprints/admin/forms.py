"""Dashboard forms. They parse and check input; the rules live in services/."""

from __future__ import annotations

import ipaddress

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from models import ArticleStatus, Role
from services.uploads import ACCEPT

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) tuples

    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


def options(*pairs) -> list:
    """Choices for a select, radio or checkbox list, in the form this WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


MIN_PASSWORD = 10


class CheckboxList(SelectMultipleField):
    """Several checkboxes sharing one name: one per category."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ArticleForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=200)], render_kw={"maxlength": 200})
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=190)],
        render_kw={"maxlength": 190, "spellcheck": "false", "autocapitalize": "none"},
        description="The last part of the article's address. Leave empty to make it from the title.",
    )
    excerpt = TextAreaField(
        "Standfirst",
        validators=[Length(max=600)],
        render_kw={"rows": 2, "maxlength": 600},
        description="One or two sentences under the headline and on the front page.",
    )
    body_md = TextAreaField(
        "Body",
        render_kw={"rows": 18, "spellcheck": "true"},
        description=(
            "Markdown: a blank line between paragraphs, ## for a subheading, > for a quote, "
            "[text](https://…) for a link."
        ),
    )
    byline = StringField(
        "Byline",
        validators=[Length(max=120)],
        render_kw={"maxlength": 120},
        description="Shown as “By …”. Leave empty to use your name.",
    )
    status = RadioField(
        "Status",
        choices=options(
            (ArticleStatus.DRAFT.value, "Draft"),
            (ArticleStatus.PUBLISHED.value, "Published"),
            (ArticleStatus.SCHEDULED.value, "Scheduled"),
        ),
        default=ArticleStatus.DRAFT.value,
    )
    publish_at = DateTimeLocalField(
        "Publish time (UTC)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="Required for Scheduled. For Published, empty means now.",
    )
    comments_open = BooleanField("Comments open", default=True)
    pings_open = BooleanField("Trackbacks and pingbacks open", default=True)
    ping_urls = TextAreaField(
        "Trackback URLs to ping",
        render_kw={"rows": 3, "spellcheck": "false", "placeholder": "https://example.org/post/trackback/"},
        description="One address per line. Pinged when the article is published.",
    )
    categories = CheckboxList("Categories", coerce=int, choices=[], validate_choice=False)
    new_categories = StringField(
        "New categories",
        validators=[Length(max=500)],
        description="Comma-separated; created when you save.",
    )
    tags = StringField(
        "Tags",
        validators=[Length(max=2000)],
        description="Comma-separated, e.g. harbour, regatta. New tags are created when you save.",
    )
    lead_image = FileField("Lead image", render_kw={"accept": ACCEPT})
    remove_image = BooleanField("Remove the lead image")
    lead_image_caption = TextAreaField("Caption", render_kw={"rows": 2}, validators=[Length(max=1000)])
    lead_image_alt = StringField(
        "Alt text",
        validators=[Length(max=300)],
        render_kw={"maxlength": 300},
        description="What the picture shows, for readers who cannot see it.",
    )


class CommentEditForm(FlaskForm):
    author_name = StringField("Name", validators=[DataRequired("The name cannot be empty."), Length(max=120)])
    author_email = EmailField("Email", validators=[Optional(), Email("Enter a valid email address."), Length(max=254)])
    author_url = URLField(
        "Website",
        validators=[
            Optional(),
            URL(require_tld=False, message="Enter an http:// or https:// address."),
            Length(max=500),
        ],
    )
    title = StringField("Title", validators=[Optional(), Length(max=300)])
    body = TextAreaField(
        "Comment", validators=[DataRequired("The comment cannot be empty."), Length(max=10_000)], render_kw={"rows": 6}
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Your reply",
        validators=[DataRequired("Write a reply first."), Length(max=10_000)],
        render_kw={"rows": 4, "autofocus": True},
    )


def _lines_of_ips(form, field) -> None:
    for line in (field.data or "").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            ipaddress.ip_address(line)
        except ValueError:
            raise ValidationError(f"“{line[:60]}” is not an IP address (one per line).") from None


def _lines_of_emails(form, field) -> None:
    for line in (field.data or "").splitlines():
        line = line.strip()
        if line and ("@" not in line or " " in line or len(line) > 254):
            raise ValidationError(f"“{line[:60]}” is not an email address (one per line).")


class SettingsForm(FlaskForm):
    moderation = RadioField(
        "Before a comment appears",
        choices=options(
            ("open", "Publish at once, unless the rules below hold it"),
            ("first_time", "Hold a commenter's first comment; publish later ones at once"),
            ("all", "Hold every comment for a moderator"),
        ),
    )
    max_depth = IntegerField(
        "Maximum reply depth",
        validators=[InputRequired("Enter a number."), NumberRange(1, 10, "Choose between 1 and 10 levels.")],
        description="1 means no replies. Deeper replies attach beside their parent.",
    )
    threads_per_page = IntegerField(
        "Threads per page",
        validators=[InputRequired("Enter a number."), NumberRange(5, 200, "Choose between 5 and 200.")],
    )
    thread_order = SelectField("Thread order", choices=options(("oldest", "Oldest first"), ("newest", "Newest first")))
    close_after_days = IntegerField(
        "Close comments after (days)",
        validators=[InputRequired("Enter a number."), NumberRange(0, 3650, "Choose between 0 and 3650 days.")],
        description="0 keeps comments open for ever. Trackbacks and pingbacks close at the same time.",
    )
    flood_seconds = IntegerField(
        "Seconds between comments from one address",
        validators=[InputRequired("Enter a number."), NumberRange(0, 3600, "Choose between 0 and 3600 seconds.")],
    )
    max_links = IntegerField(
        "Hold a comment with more links than",
        validators=[InputRequired("Enter a number."), NumberRange(0, 50, "Choose between 0 and 50.")],
    )
    reports_to_hold = IntegerField(
        "Reports that take a comment off the page",
        validators=[InputRequired("Enter a number."), NumberRange(1, 100, "Choose between 1 and 100.")],
    )
    hold_words = TextAreaField(
        "Hold for moderation when a comment contains",
        validators=[Length(max=20_000)],
        render_kw={"rows": 5},
        description="One word or phrase per line; matched in the name, email, website, text and IP address.",
    )
    block_words = TextAreaField(
        "Send to spam when a comment contains",
        validators=[Length(max=20_000)],
        render_kw={"rows": 5},
        description="One word or phrase per line.",
    )
    banned_ips = TextAreaField(
        "Banned IP addresses",
        validators=[Length(max=20_000), _lines_of_ips],
        render_kw={"rows": 4, "spellcheck": "false"},
        description="One per line. Their comments go straight to spam.",
    )
    banned_emails = TextAreaField(
        "Banned email addresses",
        validators=[Length(max=20_000), _lines_of_emails],
        render_kw={"rows": 4, "spellcheck": "false"},
        description="One per line. Their comments go straight to spam.",
    )
    verify_linkbacks = BooleanField("Check that a linking page really links here before accepting a linkback")
    public_moderation_log = BooleanField("Publish a moderation log at /moderation (no personal data)")


class UserForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired("Choose a username."),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, dots, dashes and underscores only."),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    display_name = StringField("Display name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[Optional(), Email("Enter a valid email address."), Length(max=254)])
    role = SelectField("Role", choices=options((Role.EDITOR.value, "Editor"), (Role.ADMIN.value, "Admin")))
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD, max=1024, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
        render_kw={"autocomplete": "new-password"},
        description=f"At least {MIN_PASSWORD} characters.",
    )


class PasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD, max=1024, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
        render_kw={"autocomplete": "new-password"},
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=options((Role.EDITOR.value, "Editor"), (Role.ADMIN.value, "Admin")))


class TermForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=80)])
    slug = StringField(
        "Slug", validators=[Optional(), Length(max=80)], description="Leave empty to make it from the name."
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
