"""Turning messages read from a mailbox over IMAP into Emails: those from or
to a contact of the organization (To/Cc: Bcc is never read), client-sent
(from the mailbox's own address) or incoming (from a contact), matched to
contacts, threaded by In-Reply-To/References and stored once per
Message-ID. A reply marks the email it answers Replied.

Bodies are stored as text only: HTML is reduced to its text with nh3 (no
markup, so nothing remote is ever loaded in the CRM)."""

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

import nh3
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact

from .. import rollup
from ..models import Email, EmailRecipient, Mailbox, NotTrackedReason

_MSGID = re.compile(r"<[^<>\s]+>")
_parser = BytesParser(policy=policy.default)


@dataclass
class Headers:
    """What decides whether a message is imported, from its header alone."""

    message_id: str
    from_address: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    subject: str
    in_reply_to: list[str] = field(default_factory=list)

    @property
    def addresses(self) -> set[str]:
        return {self.from_address, *self.to, *self.cc} - {""}


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = [str(v) for v in message.get_all(name, [])]
    return [address.lower() for _, address in getaddresses(values) if "@" in address]


def _date(message: EmailMessage) -> datetime | None:
    try:
        date = parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError, IndexError):
        return None
    return date if date.tzinfo else date.replace(tzinfo=UTC)


def parse_headers(raw: bytes) -> Headers:
    message = _parser.parsebytes(raw, headersonly=True)
    found = _MSGID.findall(str(message.get("Message-ID", "")))
    from_ = _addresses(message, "From")
    date = _date(message)
    subject = " ".join(str(message.get("Subject", "")).split())
    message_id = found[0] if found else _made_up_id(from_, date, subject)
    threading = _MSGID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")
    return Headers(
        message_id=message_id[:255],
        from_address=from_[0] if from_ else "",
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        date=date,
        subject=subject[:300],
        in_reply_to=list(dict.fromkeys(threading)),
    )


def _made_up_id(from_: list[str], date: datetime | None, subject: str) -> str:
    # A message without a Message-ID still has to be stored once.
    digest = hashlib.sha256(f"{from_}|{date}|{subject}".encode()).hexdigest()[:32]
    return f"<{digest}@sync.onepage.invalid>"


def body_text(raw: bytes) -> str:
    message = _parser.parsebytes(raw)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    if part.get_content_type() == "text/html":
        content = html.unescape(nh3.clean(content, tags=set()))
    return content.strip()


class Matcher:
    """The organization's contacts by address, looked up a batch at a time."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.own = {a.lower() for a in (mailbox.from_address, mailbox.imap_username) if "@" in a}
        self.contacts: dict[str, Contact] = {}

    def load(self, headers: list[Headers]) -> None:
        wanted = set().union(*(h.addresses for h in headers)) - self.own - set(self.contacts) if headers else set()
        if wanted:
            found = Contact.objects.annotate(address=Lower("email")).filter(
                organization_id=self.mailbox.organization_id, address__in=wanted
            )
            self.contacts.update({c.address: c for c in found})

    def wanted(self, headers: Headers) -> bool:
        if headers.from_address in self.own:
            return any(a in self.contacts for a in [*headers.to, *headers.cc])
        return headers.from_address in self.contacts


def import_message(*, mailbox: Mailbox, headers: Headers, raw: bytes, matcher: Matcher) -> Email | None:
    """Store one message (None: it was stored already, or is a CRM email's
    own copy). Safe against a concurrent sync of the same message."""
    if Email.objects.filter(organization_id=mailbox.organization_id, message_id=headers.message_id).exists():
        return None
    outgoing = headers.from_address in matcher.own
    when = headers.date or timezone.now()
    replied = _answered(mailbox, headers) if not outgoing else None
    try:
        with transaction.atomic():
            email = Email.objects.create(
                organization_id=mailbox.organization_id,
                sender=mailbox.user,
                source=Email.Source.CLIENT,
                direction=Email.Direction.OUTGOING if outgoing else Email.Direction.INCOMING,
                from_address=headers.from_address,
                subject=headers.subject or "(no subject)",
                body_text=body_text(raw),
                status=Email.Status.SENT,
                sent_at=when,
                message_id=headers.message_id,
                in_reply_to=(headers.in_reply_to or [""])[-1][:255],
                reply_to_email=replied,
                track_opens=False,
                not_tracked_reason=NotTrackedReason.CLIENT if outgoing else "",
            )
            # Written when it was written (its Date), for the timeline's order.
            Email.objects.filter(pk=email.pk).update(created_at=when)
            EmailRecipient.objects.bulk_create(_recipients(email, headers, matcher, outgoing=outgoing))
            rollup.created([email.pk])  # never tracked today: counted by the one rule all the same
    except IntegrityError:
        return None  # another sync stored it first
    if replied is not None:
        mark_replied(email=replied, address=headers.from_address, at=when)
    return email


def _recipients(email: Email, headers: Headers, matcher: Matcher, *, outgoing: bool) -> list[EmailRecipient]:
    if not outgoing:
        contact = matcher.contacts.get(headers.from_address)
        return [
            EmailRecipient(email=email, kind=EmailRecipient.Kind.FROM, address=headers.from_address, contact=contact)
        ]
    rows = []
    for kind, addresses in ((EmailRecipient.Kind.TO, headers.to), (EmailRecipient.Kind.CC, headers.cc)):
        for address in dict.fromkeys(addresses):
            rows.append(
                EmailRecipient(
                    email=email,
                    kind=kind,
                    address=address,
                    contact=matcher.contacts.get(address),
                    not_tracked_reason=NotTrackedReason.CLIENT,
                    delivered_at=email.sent_at,
                )
            )
    return rows


def _answered(mailbox: Mailbox, headers: Headers) -> Email | None:
    """The organization's outgoing email this message replies to, if any."""
    if not headers.in_reply_to:
        return None
    candidates = Email.objects.filter(
        organization_id=mailbox.organization_id,
        message_id__in=headers.in_reply_to,
        direction=Email.Direction.OUTGOING,
    ).only("pk", "message_id", "replied_at")
    by_id = {e.message_id: e for e in candidates}
    # In-Reply-To (last of the list) first, then References from the newest.
    return next((by_id[m] for m in reversed(headers.in_reply_to) if m in by_id), None)


def mark_replied(*, email: Email, address: str, at: datetime) -> None:
    """Replied: the email, and the recipient who wrote back (the time of the
    first reply synced is kept)."""
    with rollup.changing([email.pk]):
        Email.objects.filter(pk=email.pk, replied_at__isnull=True).update(replied_at=at)
    EmailRecipient.objects.filter(email=email, address__iexact=address, replied_at__isnull=True).update(replied_at=at)
