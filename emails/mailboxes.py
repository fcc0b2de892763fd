"""Each user's mailbox (Settings -> Email sync): finding it, connecting it,
changing it and disconnecting it."""

from typing import NamedTuple

from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from onepage.models import Organization, User

from . import crypto
from .configuration import configuration_for_update, switch_on_for_first_mailbox
from .models import Mailbox
from .outbox import DevelopmentOutboxBackend
from .transport.smtp import SMTPSettings, smtp_backend

# What an edit may change; everything else is fixed at creation.
_EDITABLE = [
    "kind",
    "from_name",
    "from_address",
    "smtp_host",
    "smtp_port",
    "security",
    "username",
    "password_encrypted",
]


_IMAP_FIELDS = [
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password_encrypted",
    "save_sent_copies",
]


class Connected(NamedTuple):
    mailbox: Mailbox
    # This connect switched Allow open tracking on (the first mailbox's rule).
    tracking_switched_on: bool


def mailbox_of(*, user: User, organization: Organization) -> Mailbox | None:
    """The mailbox the user sends from, if connected. A mailbox belongs to one
    user: nobody else's is ever reachable through this."""
    return Mailbox.objects.filter(user=user, organization=organization).first()


@sensitive_variables("password")
def mailbox_connect(
    *,
    user: User,
    organization: Organization,
    kind: str,
    from_address: str,
    from_name: str = "",
    smtp_host: str = "",
    smtp_port: int | None = None,
    security: str = "",
    username: str = "",
    password: str | None = None,
) -> Connected:
    """Connect the user's mailbox, or change it. `password=None` keeps the
    stored one. The organization's first mailbox switches Allow open
    tracking on (emails.configuration), and says so."""
    with transaction.atomic():
        # Locked: two users connecting their first mailboxes at once switch
        # tracking on (and log it) once.
        config = configuration_for_update(organization)
        mailbox = Mailbox.objects.filter(user=user).first()
        first_of_organization = mailbox is None and not Mailbox.objects.filter(organization=organization).exists()
        creating = mailbox is None
        if mailbox is None:
            mailbox = Mailbox(user=user, organization=organization)
        mailbox.kind, mailbox.from_name, mailbox.from_address = kind, from_name, from_address
        if kind == Mailbox.Kind.DEVELOPMENT:
            mailbox.smtp_host, mailbox.username, mailbox.password_encrypted = "", "", ""
            mailbox.smtp_port, mailbox.security = 587, Mailbox.Security.STARTTLS
        else:
            mailbox.smtp_host = smtp_host
            mailbox.smtp_port = smtp_port or 587
            mailbox.security = security or Mailbox.Security.STARTTLS
            mailbox.username = username
            if password is not None:
                mailbox.password_encrypted = crypto.encrypt(password)
            elif not username:
                mailbox.password_encrypted = ""
        mailbox.save(update_fields=None if creating else [*_EDITABLE, "password_encrypted", "updated_at"])
        switched_on = first_of_organization and switch_on_for_first_mailbox(config=config, actor=user)
    return Connected(mailbox, switched_on)


def mailbox_disconnect(*, mailbox: Mailbox) -> None:
    # Emails still queued then fail with "no mailbox" and can be retried
    # once a mailbox is connected again.
    mailbox.delete()


@sensitive_variables("imap_password")
def mailbox_set_imap(
    *,
    mailbox: Mailbox,
    imap_host: str,
    imap_port: int | None = None,
    imap_security: str = "",
    imap_username: str = "",
    imap_password: str | None = None,
    save_sent_copies: bool = True,
) -> Mailbox:
    """The mailbox's IMAP settings (no host: not synced). `imap_password=None`
    keeps the stored one. A change of server starts the sync afresh."""
    moved = (imap_host, imap_username) != (mailbox.imap_host, mailbox.imap_username)
    mailbox.imap_host = imap_host
    if not imap_host:
        mailbox.imap_username, mailbox.imap_password_encrypted = "", ""
    else:
        mailbox.imap_port = imap_port or 993
        mailbox.imap_security = imap_security or Mailbox.Security.SSL
        mailbox.imap_username = imap_username
        mailbox.save_sent_copies = save_sent_copies
        if imap_password is not None:
            mailbox.imap_password_encrypted = crypto.encrypt(imap_password)
    # Due at once, with a clean slate: the user just changed what was wrong.
    mailbox.sync_error, mailbox.sync_failures, mailbox.next_sync_at = "", 0, None
    # Not the sync's claim: a sync running now keeps it.
    mailbox.save(update_fields=[*_IMAP_FIELDS, "sync_error", "sync_failures", "next_sync_at", "updated_at"])
    if moved:
        mailbox.folders.all().delete()
    return mailbox


@sensitive_variables()
def mailbox_connection(mailbox: Mailbox, *, email_id: int | None = None) -> BaseEmailBackend:
    """The backend that delivers through this mailbox (not yet opened)."""
    if mailbox.kind == Mailbox.Kind.DEVELOPMENT:
        return DevelopmentOutboxBackend(organization_id=mailbox.organization_id, email_id=email_id)
    return smtp_backend(SMTPSettings.of(mailbox))
