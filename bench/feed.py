"""How the activity feed scales: a big organization and a small one, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/feed.py [repetitions] [--refill] [--budget SECONDS]

Fills the database at DATABASE_URL (PostgreSQL on 127.0.0.1 only) with two
organizations, once (bench/feed_data.py; a later run finds them):

  big    100,000 emails from 10 reps (one every 2 minutes), 1,000,000 opens
  small      100 emails from 2 reps (one every 2 hours),       1,000 opens

each email to one contact by name, every tenth also to an address tracked in
the total only (its opens name nobody). Then it requests each page through
Django's test Client (middleware, view, template) `repetitions` times (30 by
default), big and small interleaved, and prints the lines shown, the query
count, the median time, its database part and the ratio big/small; the goal
is a feed page within 1.2x of the small organization's. --budget bounds the
measuring of each page (60 s by default): fewer repetitions when slow.
"""

from pages_compare import Page, compare

# Django is set up by then.
# isort: split
from django.urls import reverse
from feed_data import BIG, SMALL, fill

from onepage.models import Membership, Organization, User

GOAL = 1.2
ROWS = (b'<li class="feed-item">', b'<td class="col-last')


def pages_for(org: Organization) -> list[Page]:
    members = User.objects.filter(membership__organization=org)
    admin = members.get(membership__role=Membership.Role.ADMIN)
    rep = members.filter(membership__role=Membership.Role.REP).order_by("pk")[0]
    feed, contacts = reverse("activity:feed"), reverse("contacts:list")
    return [
        Page("Feed, 1st page, own, 7 days (rep)", rep, feed, {}),
        Page("Feed, 1st page, everyone, 7 days (admin)", admin, feed, {"who": "everyone"}),
        Page("Feed, 1st page, everyone, all time (admin)", admin, feed, {"who": "everyone", "period": "all"}),
        Page("Feed, 3rd page, everyone, 7 days (admin)", admin, feed, {"who": "everyone", "page": 3}),
        # Not a feed page: every contact's latest open is worked out to sort
        # them (5,000 against 10); shown for what it costs.
        Page("Contacts by Last opened (rep)", rep, contacts, {"sort": "last_opened"}, goal=False),
    ]


def main() -> None:
    columns = ["rows", "queries", "n", "median ms", "db ms", "big/small"]
    compare((BIG, SMALL), fill, pages_for, rows=ROWS, width=44, columns=columns, goal=GOAL, what="feed page")


if __name__ == "__main__":
    main()
