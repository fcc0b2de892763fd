"""OutreachWeek: the team's outreach kept per sender and week, so that
Reports reads a few hundred rows a year instead of every email sent.

One row per (organization, sender, week): the week is the Monday of the
email's send in the organization's time zone. Each tracked email that was
sent adds to its row: 1 sent; 1 fetched if its pixel was loaded at all; 1
opened if a person opened it; 1 replied; its people's opens and automatic
fetches (the fetches a naive tracker counts); 1 under each kind of automatic
fetch if only machines fetched it; 1 in the band (onepage.durations.BANDS)
of its wait from the send to its first open by a person.

Kept equal to the emails by emails.rollup, in the transaction that changes
an email (the open writer, the send, a reply, a recount); repaired by
`manage.py recount_opens`."""

from django.conf import settings
from django.db import models

from onepage.durations import BANDS
from onepage.models import Organization

# The automatic fetches' kinds, as bits (tracking.models.AUTOMATIC_BITS holds the same).
KIND_BITS = (1, 2, 4, 8, 16)
COUNTS = ("sent", "fetched", "opened", "replied", "fetches", "automatic")
MACHINES_ONLY = tuple(f"machines_only_{bit}" for bit in KIND_BITS)
FIRST_OPEN = tuple(f"first_open_{band}" for band in range(len(BANDS)))
COLUMNS = COUNTS + MACHINES_ONLY + FIRST_OPEN


class _Week(models.Model):
    # No index of its own: the unique constraint's and the (organization, week) index lead with it.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["organization", "sender", "week"], name="outreach_week_unique"),
        ]
        indexes = [models.Index(fields=["organization", "week"], name="outreach_week_org_idx")]

    def __str__(self) -> str:
        return f"{self.sender_id} week of {self.week}: {self.sent} sent"


OutreachWeek = type(
    "OutreachWeek",
    (_Week,),
    {
        "__module__": "emails.models",
        "__doc__": __doc__,
        # Not positive fields: a row that ever drifted from its emails (fixed
        # by recount_opens) must never make the open writer fail on a check.
        # fetches and automatic add up opens: a big team's year may pass 2**31.
        **{name: models.BigIntegerField(default=0) for name in COUNTS},
        **{name: models.IntegerField(default=0) for name in MACHINES_ONLY + FIRST_OPEN},
    },
)
