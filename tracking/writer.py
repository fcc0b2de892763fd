"""The one writer of opens: every path (the stream's readers, the direct
write, the spool's replay, the demo) ends here. It asks the policy again
(the contact's choice as it stands now), classifies each hit (its verdict,
from facts already loaded), inserts the events skipping hit keys already
written, and adds what it inserted to the counters, in one transaction:
O(1) per open, whatever the history. So a hit counts once, and the counters
agree with the OpenEvent table (`manage.py recount_opens --check`).

Aggregate opens get the same verdicts as identified ones: the last counted
open that their `repeat` rule needs, which no row may hold, is remembered
for the repeat window by tracking.recent."""

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from emails.models import Email, EmailRecipient, TrackingMode
from emails.policy import open_mode
from onepage.ids import among
from onepage.models import Organization

from . import classify, counters, recent, recorded
from .hits import Open, kept_signals
from .models import COUNTED, Verdict

# What the writer reads of a recipient, loaded as plain values (the
# attributes of RecipientFacts, of the same names): the policy
# (emails.policy.open_mode), the verdict's times, the counters' last open.
# As model instances, a batch's 1,000 recipients and contacts cost 14.5 ms
# to build against 4.8 for the values (issue 23): a third of the rows'
# loading, a tenth of the recorder's batch.
RECIPIENT_COLUMNS = (
    "pk",
    "email_id",
    "track_opens",
    "aggregate_only",
    "attempted_at",
    "delivered_at",
    "last_opened_at",
)
# And of its contact (ContactFacts; None without one): what contact_decision reads.
CONTACT_COLUMNS = ("contact_id", "contact__open_tracking", "contact__country")
# What the writer and emails.policy.open_mode read of an email: the rest (its
# bodies above all) stays in the database. Emails are model instances, for
# open_mode; reading a field left out costs a query per email, which the
# pinned query counts of a batch would show (tracking/tests/test_recording.py).
EMAIL_FIELDS = ("organization", "sender", "track_opens", "source")


class ContactFacts:
    """What the policy reads of a recipient's contact (contact_decision):
    its choice, and its country's code ("" when unknown), which
    contacts.countries.gdpr_protects takes as a django_countries Country does."""

    __slots__ = ("country", "open_tracking")

    def __init__(self, open_tracking: str, country: str) -> None:
        self.open_tracking, self.country = open_tracking, country


class RecipientFacts:
    """A recipient as the writer reads it, under its email's lock: the
    columns of RECIPIENT_COLUMNS, its contact, `email`, the batch's one
    instance of its email (EMAIL_FIELDS), and `organization`, the batch's
    one instance of the email's organization (with its configuration). A
    field read that is not here fails loudly (AttributeError) instead of
    costing a query per recipient."""

    __slots__ = (*RECIPIENT_COLUMNS, "contact", "email", "organization")

    def __init__(self, row: tuple, emails: dict[int, Email], organizations: dict[int, Organization]) -> None:
        """`row`: RECIPIENT_COLUMNS' values, then CONTACT_COLUMNS';
        `emails` and `organizations`: the batch's, by id."""
        for name, value in zip(RECIPIENT_COLUMNS, row, strict=False):
            setattr(self, name, value)
        contact_id, open_tracking, country = row[len(RECIPIENT_COLUMNS) :]
        self.contact = None if contact_id is None else ContactFacts(open_tracking, country)
        self.email = emails[self.email_id]
        self.organization = organizations[self.email.organization_id]


def write_opens(*, opens: Sequence[Open], durable: bool = False) -> int:
    """Insert the opens the policy allows and add them to the counters of
    their recipients and emails. Opens of unknown recipients, and keys
    already written (by any path, or twice in this batch), are skipped.
    Returns how many opens were newly recorded. `durable`: in a transaction
    of its own, never inside a caller's (the recorder's batch, acknowledged
    once this returned)."""
    with transaction.atomic(durable=durable):
        recipients = _lock_recipients({o.recipient_id for o in opens})
        # Each recipient's mode now: identified, aggregate (the email's
        # total only), or None: not recorded.
        modes = {pk: _mode(r) for pk, r in recipients.items()}
        allowed = {pk: r for pk, r in recipients.items() if modes[pk] is not None}
        # Read once the emails are locked: an earlier writer of the same
        # email has set its markers by then.
        before = _aggregate_last_counted(opens, allowed, modes)
        last_counted = dict(before)
        events = _events(opens, allowed, modes, last_counted)
        inserted = counters.insert_events([e for _, e in events])
        counters.add_to_counters(inserted)
        recent.remember(_aggregate_markers(events, inserted, modes, before))
        recorded.announce(_recorded(events, inserted, allowed))
    return len(inserted)


def _lock_recipients(recipient_ids: set[int]) -> dict[int, RecipientFacts]:
    """The recipients with their contacts, emails and organizations. Locking
    the emails, in id order, serializes writers of one email (and
    tracking.erasure), so their counter updates and conflicting keys never
    wait on each other in a cycle.

    Three statements: the emails locked and loaded once each (the fields
    the writer reads), their organizations once each with their
    configuration, then the recipients with their contacts as values
    (RecipientFacts), each given its email's and organization's one
    instance. Loaded in one statement, every recipient row brought its own
    copy of the email, organization and configuration; joined to the emails,
    every email brought its own organization and configuration, and its
    bodies: in a batch of 2,000 opens spread over a team's 500 emails, 1,500
    model instances (issue 23)."""
    if not recipient_ids:
        return {}
    recipients = among(recipient_ids)
    emails = {
        e.pk: e
        for e in Email.objects.only(*EMAIL_FIELDS)
        .select_for_update()
        .filter(pk__in=EmailRecipient.objects.filter(pk__in=recipients).values("email_id"))
        .order_by("pk")
    }
    if not emails:
        return {}
    organizations = Organization.objects.select_related("email_configuration").in_bulk(
        {e.organization_id for e in emails.values()}
    )
    rows = EmailRecipient.objects.filter(pk__in=recipients, email_id__in=among(emails)).values_list(
        *RECIPIENT_COLUMNS, *CONTACT_COLUMNS
    )
    return {f.pk: f for f in (RecipientFacts(row, emails, organizations) for row in rows)}


def _mode(recipient: RecipientFacts) -> str | None:
    return open_mode(email=recipient.email, organization=recipient.organization, recipient=recipient)


def _aggregate_last_counted(
    opens: Sequence[Open], allowed: dict[int, RecipientFacts], modes: dict
) -> dict[int, datetime | None]:
    """The last counted open of each aggregate recipient with a marker, as
    it stood before this batch: the marker's, or the row's when later (opens
    counted while the recipient was identified)."""
    aggregate = [pk for pk in allowed if modes[pk] == TrackingMode.AGGREGATE]
    markers = recent.markers(aggregate)
    if not markers:
        return {}
    batch_keys = {o.key for o in opens if o.key is not None}
    last = {}
    for pk, marker in markers.items():
        times = [t for t in (marker.last_counted(batch_keys), allowed[pk].last_opened_at) if t is not None]
        last[pk] = max(times, default=None)
    return last


def _events(
    opens: Sequence[Open], allowed: dict[int, RecipientFacts], modes: dict, last_counted: dict
) -> list[tuple[int, counters.Event]]:
    """The allowed opens as events with their verdicts, each key once, with
    the recipient each came from (kept in memory only). An aggregate open is
    linked to no recipient: it counts in the email's total only.
    `last_counted`: each recipient's last counted open, updated as the batch
    goes (a recipient without one starts from its row's last open)."""
    events, keys = [], set()
    for o in opens:
        if o.recipient_id not in allowed or (o.key is not None and o.key in keys):
            continue
        keys.add(o.key)
        recipient = allowed[o.recipient_id]
        verdict = _verdict(o, recipient, last_counted)
        recipient_id = o.recipient_id if modes[o.recipient_id] == TrackingMode.IDENTIFIED else None
        events.append((o.recipient_id, counters.Event(recipient_id, recipient.email_id, o.opened_at, o.key, verdict)))
    return events


def _verdict(o: Open, recipient: RecipientFacts, last_counted: dict) -> str:
    """tracking.classify's verdict, from facts already loaded: O(1), no query."""
    kept = kept_signals(o)
    if kept is None:
        return Verdict.HUMAN  # no signals: recorded as before verdicts
    pre, member = kept
    last = last_counted.get(recipient.pk, recipient.last_opened_at)
    verdict = classify.verdict(
        pre_verdict=pre,
        member_organization=member,
        organization_id=recipient.email.organization_id,
        opened_at=o.opened_at,
        handed_at=recipient.attempted_at,
        delivered_at=recipient.delivered_at,
        last_counted_at=last,
    )
    if verdict in COUNTED:
        last_counted[recipient.pk] = o.opened_at if last is None else max(last, o.opened_at)
    return verdict


def _recorded(
    events: list[tuple[int, counters.Event]], inserted: list[counters.Event], allowed: dict[int, RecipientFacts]
) -> list[recorded.Recorded]:
    """The opens inserted, as tracking.recorded's listeners get them (after
    the commit), from the rows already loaded: no query."""
    written = {id(e) for e in inserted}
    out = []
    for pk, e in events:
        if id(e) not in written:
            continue
        recipient = allowed[pk]
        email = recipient.email
        out.append(
            recorded.Recorded(
                key=e.key,
                recipient_id=e.recipient_id,
                email_id=e.email_id,
                organization_id=email.organization_id,
                sender_id=email.sender_id,
                opened_at=e.opened_at,
                verdict=e.verdict,
                previous_counted_at=recipient.last_opened_at,
            )
        )
    return out


def _aggregate_markers(
    events: list[tuple[int, counters.Event]], inserted: list[counters.Event], modes: dict, before: dict
) -> dict[int, recent.Marker]:
    """The new markers: each aggregate recipient's latest counted open among
    those inserted (unless its marker already holds a later one), with the
    time that held before this batch."""
    written = {id(e) for e in inserted}
    latest: dict[int, counters.Event] = {}
    for pk, e in events:
        counted = modes[pk] == TrackingMode.AGGREGATE and e.verdict in COUNTED and id(e) in written
        if counted and (pk not in latest or e.opened_at > latest[pk].opened_at):
            latest[pk] = e
    return {
        pk: recent.Marker(e.opened_at, e.key, before=before.get(pk))
        for pk, e in latest.items()
        if before.get(pk) is None or e.opened_at > before[pk]
    }
