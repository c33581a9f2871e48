"""Demo content: a few original stories from the fictional island of Saltmarsh Bay,
with comment threads several levels deep. ``seed()`` is idempotent (keyed by slug)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from extensions import db
from models import Article, ArticleStatus, Category, Comment, CommentKind, CommentStatus, Tag, User, utcnow
from services.discussion import refresh_counts
from services.sanitize import clean_comment, render_markdown
from services.slugs import slugify

CATEGORIES = {
    "News": "What happened on the island today.",
    "Community": "Clubs, schools, churches and neighbours.",
    "Environment": "The reef, the beaches and the weather.",
    "Sport": "Results and stories from the island's pitches and water.",
}

# (title, byline, categories, tags, image key, caption, alt, excerpt, body, days ago, comments)
# Comments: (name, body, replies) — replies nest the same way.
ARTICLES = [
    (
        "Harbour wall repairs to start after the Regatta, council confirms",
        "Marguerite Ebanks",
        ["News", "Community"],
        ["Harbour", "Council", "Infrastructure"],
        "harbour",
        "Fishing boats moored inside the old harbour wall at dusk on Tuesday. The eastern section, "
        "cracked in last year's storms, will be rebuilt first.",
        "Small fishing boats with white sails moored in a calm harbour at sunset, green hills behind.",
        "Work on the cracked eastern section will begin in the second week of November and is expected "
        "to last four months.",
        """The island council has confirmed that repairs to the harbour wall will begin once this year's
Regatta is over, ending months of uncertainty for the fishermen who moor inside it.

Speaking after Thursday's public meeting, council chair **Desmond Whittaker** said the contractor had
agreed to keep one channel open throughout the work. "Nobody loses a mooring," he said. "We have heard
that loud and clear."

The eastern section of the wall was cracked in two places during last winter's storms. An engineer's
survey found that the foundations are sound but that about forty metres of the upper wall must be
taken down and rebuilt.

## What changes for boat owners

- Boats on the eastern moorings will move to temporary buoys in the bay from 10 November.
- The slipway stays open, except for two weekends that will be announced a fortnight ahead.
- Fuel deliveries move to the north quay.

The cost, shared between the council and the harbour trust, is put at just under two million dollars.
Some residents at the meeting asked why the repairs had taken so long to begin. Mr Whittaker said the
tender had to be run twice after the first round drew a single bid.

> "This wall has protected the harbour for ninety years. We want it to do the same for the next ninety."

The harbour trust will hold a drop-in session at the Seamen's Hall on Saturday morning for anyone with
questions about moorings.""",
        2,
        [
            (
                "Captain Reggie",
                "About time. My boat has been knocking against that crack since February.",
                [
                    (
                        "Harbourmaster's Daughter",
                        "The temporary buoys are actually in a better spot than you think. Sheltered from the north-easterly.",
                        [
                            (
                                "Captain Reggie",
                                "We'll see in January. I'll buy you a coffee if you're right.",
                                [
                                    ("Harbourmaster's Daughter", "Deal. Black, no sugar.", []),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            (
                "Liz T.",
                "Two million dollars for forty metres of wall? I would like to see the breakdown of that figure before anyone starts pouring concrete.",
                [
                    (
                        "Desmond W.",
                        "The breakdown is in the tender documents on the council website, pages 12 to 19. Most of it is the marine works, not the wall itself.",
                        [],
                    ),
                ],
            ),
            ("Sandpiper", "Please keep the slipway open on Regatta weekend at least!", []),
        ],
    ),
    (
        "New ferry timetable adds a late sailing on Fridays",
        "Tomasz Ruiz",
        ["News"],
        ["Ferry", "Transport"],
        "ferry",
        "The morning ferry leaves Saltmarsh Bay for the mainland. From December a 22:30 sailing will run on Fridays.",
        "A white ferry crossing calm blue water under a pale sky.",
        "Commuters and students have asked for it for years; from December, the last boat on Fridays leaves at half past ten.",
        """The ferry company will add a late sailing on Friday evenings from the first week of December,
after a petition signed by more than 600 islanders.

The new crossing leaves the mainland at 22:30 and arrives in Saltmarsh Bay a little after
eleven. The company says it will run the service on a trial basis until Easter and keep it if it
carries at least eighty passengers a week.

Students at the mainland college were among the loudest voices for the change. "If you have a
late lecture you either leave early or you sleep on a friend's floor," said one, who organised the
petition.

Fares are unchanged. The first morning sailing on Saturdays moves fifteen minutes later, to 07:15,
to give the crew their rest period.""",
        5,
        [
            (
                "Night Owl",
                "Brilliant news. Any chance of a Saturday late boat next?",
                [
                    (
                        "Tomasz Ruiz",
                        "The company says it will look at Saturdays once the Friday trial ends. Keep the pressure on!",
                        [],
                    ),
                ],
            ),
            (
                "Grumpy Commuter",
                "Moving the 07:00 Saturday boat is going to catch a lot of people out. Put it on a poster at the terminal, please.",
                [],
            ),
        ],
    ),
    (
        "Volunteers count record number of turtle nests on North Beach",
        "Aisha Bodden",
        ["Environment", "Community"],
        ["Turtles", "Beaches", "Volunteers"],
        "reef",
        "Clear water over the reef off North Beach, where volunteers patrolled every morning from May to October.",
        "Turquoise water over a shallow reef with low hills on the horizon.",
        "Morning patrols found 214 nests this season, almost double the count of five years ago.",
        """Volunteers who walk North Beach at dawn counted 214 turtle nests this season, the highest
number since the island's count began twelve years ago.

Most were loggerhead nests, with a handful of green turtles. The patrols mark each nest with a
small stake and note the date, so that hatching can be watched for about eight weeks later.

Coordinator **Ruth McLaughlin** credits darker beaches for part of the rise. Three hotels along the
north shore switched to amber, shielded lights two years ago. "Hatchlings head for the brightest
horizon," she said. "For millions of years that was the sea."

The group is looking for volunteers for next season, especially people who can walk a stretch of
beach before work once a week. Training runs in April.""",
        9,
        [
            (
                "Marine Mum",
                "My kids did the dawn walk twice this summer and they still talk about it. Thank you to all the volunteers.",
                [
                    (
                        "Ruth McLaughlin",
                        "That's lovely to hear. Bring them back in April for the training morning!",
                        [
                            ("Marine Mum", "We will. The youngest wants her own stake to hammer in.", []),
                        ],
                    ),
                ],
            ),
            (
                "Skeptic on the Shore",
                "Is it more nests or just more people counting? Honest question.",
                [
                    (
                        "Ruth McLaughlin",
                        "Fair question. The route and the number of walkers have been the same since 2019, so the comparison holds for those years at least.",
                        [
                            ("Skeptic on the Shore", "Thanks, that's reassuring. Good work.", []),
                        ],
                    ),
                ],
            ),
        ],
    ),
    (
        "Saltmarsh United win island cup in penalty shoot-out",
        "Kevin Solomon",
        ["Sport"],
        ["Football", "Island Cup"],
        "field",
        "Players line up before kick-off at the Bay Road ground on Saturday afternoon.",
        "A green football pitch with two teams in red and blue lined up before a match.",
        "A goalless two hours ended with young keeper Dion Ebanks saving two penalties.",
        """Saltmarsh United lifted the island cup for the first time in eleven years on Saturday,
beating Eastside Rovers 4–3 on penalties after a goalless draw.

Neither side could find a way through in normal or extra time at a packed Bay Road ground.
Rovers came closest when a header struck the crossbar ten minutes from the end.

In the shoot-out, seventeen-year-old goalkeeper **Dion Ebanks**, playing only his fourth senior
game, saved the second and fifth kicks to send the home supporters onto the pitch.

"I just guessed," he said afterwards, grinning. "Coach told me to pick a side and stick to it."
""",
        12,
        [
            ("Bay Road Regular", "Best atmosphere at that ground in years. Well done lads.", []),
            (
                "Rovers Fan",
                "Robbed. That second penalty save was miles off his line.",
                [
                    (
                        "Neutral Ned",
                        "I was right behind the goal. He was on the line. Take it on the chin!",
                        [
                            ("Rovers Fan", "We'll see you next season.", []),
                        ],
                    ),
                ],
            ),
        ],
    ),
    (
        "Market square reopens with new shade trees and water fountain",
        "Marguerite Ebanks",
        ["Community", "News"],
        ["Council", "Infrastructure", "Town Centre"],
        "market",
        "Shop fronts on the north side of the market square, newly painted for the reopening on Saturday.",
        "A row of brightly painted two-storey shop buildings along a square.",
        "After eight months behind fences, the square reopened on Saturday with twelve young trees, benches and a drinking fountain.",
        """The market square reopened on Saturday after eight months of works, with twelve young
mahogany trees, new benches and the town's first public drinking fountain in decades.

Stallholders returned to their old pitches on the east side on Saturday morning, and the Saturday
market will run as normal from next week.

Not everyone is happy. Several shopkeepers on the north side told us that the loss of six parking
spaces has already cost them custom. The council says a new car park behind the post office will
open in the spring.""",
        16,
        [
            (
                "Shopkeeper, North Side",
                "The square looks lovely but lovely doesn't pay the rent. We need those parking spaces back.",
                [
                    (
                        "Walks Everywhere",
                        "Or people could walk the three minutes from the post office. The square is finally somewhere to sit.",
                        [],
                    ),
                ],
            ),
        ],
    ),
    (
        "Library launches evening classes in coding and local history",
        "Tomasz Ruiz",
        ["Community"],
        ["Library", "Education", "Volunteers"],
        "town",
        "The public library on Church Street, which will stay open until nine on Tuesdays and Thursdays from January.",
        "A street of painted houses and shops under a clear blue sky.",
        "Two evenings a week, the library will stay open late for free classes taught by volunteers.",
        """The public library will open until nine o'clock on Tuesday and Thursday evenings from
January, to host free classes run by volunteers.

On Tuesdays, a retired engineer will teach an introduction to programming for adults. On Thursdays,
members of the historical society will lead sessions on researching family and island history in
the library's archive of parish records and old newspapers.

Places are limited to fifteen per class. Sign-up sheets are at the front desk.""",
        20,
        [
            (
                "Curious Grandad",
                "I've always wanted to learn to code. Is it really for complete beginners?",
                [
                    (
                        "Library Volunteer",
                        "Completely. The first evening is just about what a program is. No homework, we promise.",
                        [],
                    ),
                ],
            ),
        ],
    ),
]


def _slug_unique(model, name: str):
    slug = slugify(name)
    obj = db.session.scalar(select(model).where(model.slug == slug))
    if obj is None:
        obj = model(name=name, slug=slug)
        db.session.add(obj)
    return obj


def _add_thread(article: Article, entries, when, parent: Comment | None = None, counter=None) -> None:
    counter = counter if counter is not None else [0]
    for name, body, replies in entries:
        counter[0] += 1
        created = when + timedelta(minutes=37 * counter[0])
        comment = Comment(
            article_id=article.id,
            parent_id=parent.id if parent else None,
            root_id=(parent.root_id or parent.id) if parent else None,
            depth=(parent.depth + 1) if parent else 0,
            kind=CommentKind.COMMENT.value,
            status=CommentStatus.APPROVED.value,
            author_name=name,
            body_source=body,
            body_html=clean_comment(body),
            ip="192.0.2.1",
            user_agent="demo",
            created_at=created,
            updated_at=created,
        )
        db.session.add(comment)
        db.session.flush()
        _add_thread(article, replies, when, comment, counter)


def seed(app: Flask) -> int:
    """Add what is missing of the demo content; returns how many articles were added."""
    from services import demo_images

    images = demo_images.save_all(Path(app.config["UPLOAD_DIR"]))
    author = db.session.scalar(select(User).order_by(User.id).limit(1))
    cats = {}
    for name, description in CATEGORIES.items():
        cat = _slug_unique(Category, name)
        cat.description = cat.description or description
        cats[name] = cat
    added = 0
    now = utcnow()
    for title, byline, cat_names, tag_names, image, caption, alt, standfirst, body, days, comments in ARTICLES:
        slug = slugify(title)
        if db.session.scalar(select(Article.id).where(Article.slug == slug)):
            continue
        published = (now - timedelta(days=days)).replace(hour=9, minute=30, second=0, microsecond=0)
        article = Article(
            title=title,
            slug=slug,
            byline=byline,
            author_id=author.id if author else None,
            excerpt=standfirst,
            body_md=body,
            body_html=render_markdown(body),
            lead_image=images[image],
            lead_image_caption=caption,
            lead_image_alt=alt,
            status=ArticleStatus.PUBLISHED.value,
            published_at=published,
            created_at=published,
            updated_at=published,
        )
        article.categories = [cats[c] for c in cat_names]
        article.tags = [_slug_unique(Tag, t) for t in tag_names]
        db.session.add(article)
        db.session.flush()
        _add_thread(article, comments, published + timedelta(hours=1))
        refresh_counts(article.id)
        added += 1
    db.session.commit()
    return added
