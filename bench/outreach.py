"""How the team's outreach (Reports, /reports/) scales: a big organization
and a small one, side by side, in one PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/outreach.py [repetitions] [--refill] [--budget SECONDS]

Fills the database (PostgreSQL on 127.0.0.1 only) with two organizations,
once, through the models' columns (bench/feed_data.py's fill):

  big    100,000 emails from 10 reps (one every 5 minutes: 50 weeks), 1,000,000 opens
  small      100 emails from 2 reps (one every 2 hours: 8 days),      1,000 opens

then gives the opens verdicts as a mail client's would be (every email in
four fetched by Apple's privacy prefetch only, one in nine by a scanner, a
prefetch among the people's opens of the rest), the emails a reply (one in
twelve), and sets the counters from the events as the writer would have.
Each page is requested through Django's test Client (the whole stack)
`repetitions` times (30 by default), big and small interleaved; it prints
the query count, the median time, its database part and the ratio
big/small. The goal is a page within 1.5x of the small organization's.
The page reads the rollup (emails.models.OutreachWeek), a row per rep and
week, never the emails.
"""

from pages_compare import Page, compare

# Django is set up by then.
# isort: split
from django.db import connection, transaction
from django.urls import reverse
from feed_data import Shape, fill

from emails import rollup
from emails.models import Email
from onepage.models import Membership, Organization, User
from tracking.models import AUTOMATIC_BITS, COUNTED

GOAL = 1.5
BIG = Shape(
    "Outreach bench: big organization", "obig", emails=100_000, opens=1_000_000, reps=10, contacts=5_000, every=5
)
SMALL = Shape("Outreach bench: small organization", "osmall", emails=100, opens=1_000, reps=2, contacts=10, every=120)


def give_verdicts(org: Organization) -> None:
    """Verdicts, replies and the counters from the events, once; then the
    team's rollup (Reports' rows) from the emails, as recount_opens sets it."""
    emails = Email.objects.filter(organization=org)
    if not emails.filter(automatic_count__gt=0).exists():
        _verdicts_and_counters(org)
    rollup.rebuild(organization_ids=[org.pk])


def _verdicts_and_counters(org: Organization) -> None:
    params = {"org": org.pk}
    counted = ", ".join(f"'{v}'" for v in sorted(COUNTED))
    bits = " ".join(f"WHEN '{v}' THEN {bit}" for v, bit in AUTOMATIC_BITS.items())
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """UPDATE tracking_openevent o SET verdict = CASE
                 WHEN o.email_id %% 4 = 0 THEN 'privacy_prefetch' WHEN o.email_id %% 9 = 0 THEN 'scanner'
                 WHEN o.id %% 5 = 0 THEN 'privacy_prefetch' ELSE 'human' END
               FROM emails_email e WHERE e.id = o.email_id AND e.organization_id = %(org)s""",
            params,
        )
        cur.execute(
            """UPDATE emails_email SET replied_at = sent_at + interval '1 day'
               WHERE organization_id = %(org)s AND id %% 12 = 0""",
            params,
        )
        for table, key in (("emails_emailrecipient", "recipient_id"), ("emails_email", "email_id")):
            cur.execute(
                f"""UPDATE {table} AS t SET
                      open_count = s.n, first_opened_at = s.first, last_opened_at = s.last,
                      automatic_count = s.machines, automatic_kinds = s.kinds
                    FROM (SELECT o.{key} AS id,
                            count(*) FILTER (WHERE o.verdict IN ({counted})) AS n,
                            min(o.opened_at) FILTER (WHERE o.verdict IN ({counted})) AS first,
                            max(o.opened_at) FILTER (WHERE o.verdict IN ({counted})) AS last,
                            count(*) FILTER (WHERE o.verdict NOT IN ({counted})) AS machines,
                            coalesce(bit_or(CASE o.verdict {bits} ELSE 0 END), 0) AS kinds
                          FROM tracking_openevent o JOIN emails_email e ON e.id = o.email_id
                          WHERE e.organization_id = %(org)s AND o.{key} IS NOT NULL GROUP BY o.{key}) AS s
                    WHERE t.id = s.id""",
                params,
            )


def pages_for(org: Organization) -> list[Page]:
    members = User.objects.filter(membership__organization=org)
    admin = members.get(membership__role=Membership.Role.ADMIN)
    rep = members.filter(membership__role=Membership.Role.REP).order_by("pk")[0]
    page, weeks_csv = reverse("reports:outreach"), reverse("reports:outreach_csv", args=["rep-weeks"])
    return [
        Page("Outreach, 12 weeks, own (rep)", rep, page, {}),
        Page("Outreach, 12 weeks, everyone (admin)", admin, page, {}),
        Page("Outreach, 4 weeks, everyone (admin)", admin, page, {"weeks": 4}),
        Page("Outreach, 52 weeks, everyone (admin)", admin, page, {"weeks": 52}),
        Page("Outreach, 52 weeks, one rep (admin)", admin, page, {"weeks": 52, "rep": rep.pk}),
        Page("CSV each rep's weeks, 52 weeks (admin)", admin, weeks_csv, {"weeks": 52}),
    ]


def main() -> None:
    columns = ["queries", "n", "median ms", "db ms", "big/small"]
    compare((BIG, SMALL), fill, pages_for, then=give_verdicts, width=40, columns=columns, goal=GOAL, what="page")


if __name__ == "__main__":
    main()
