"""Talking to a user's mailbox: the SMTP connection (Django's email backend),
the development mailbox that delivers to files, and SMTP errors in words."""

import json
import os
import re
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

from . import crypto
from .models import Mailbox

# Long enough for a slow server, short enough that a worker (or the person
# clicking "Test connection") is not left hanging.
SMTP_TIMEOUT = 10


@dataclass(frozen=True)
class SMTPSettings:
    """What it takes to reach a mailbox; the password in clear, in memory only."""

    host: str
    port: int
    security: str
    username: str
    password: str

    @classmethod
    def of(cls, mailbox: Mailbox, *, password: str | None = None) -> "SMTPSettings":
        if password is None:
            password = crypto.decrypt(mailbox.password_encrypted) if mailbox.password_encrypted else ""
        return cls(mailbox.smtp_host, mailbox.smtp_port, mailbox.security, mailbox.username, password)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_backend(smtp: SMTPSettings, *, timeout: float | None = None) -> SMTPBackend:
    return SMTPBackend(
        host=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp.password,
        use_tls=smtp.security == Mailbox.Security.STARTTLS,
        use_ssl=smtp.security == Mailbox.Security.SSL,
        timeout=timeout or SMTP_TIMEOUT,
        fail_silently=False,
    )


def mailbox_connection(mailbox: Mailbox, *, email_id: int | None = None) -> BaseEmailBackend:
    """The backend that delivers through this mailbox (not yet opened)."""
    if mailbox.kind == Mailbox.Kind.DEVELOPMENT:
        return DevelopmentOutboxBackend(organization_id=mailbox.organization_id, email_id=email_id)
    return smtp_backend(SMTPSettings.of(mailbox))


# --- Errors in words -----------------------------------------------------------


@dataclass(frozen=True)
class SMTPFailure:
    message: str
    # Worth trying again later: the network, a timeout, a 4xx reply.
    transient: bool
    # About this one copy (its recipient or content), not the connection:
    # the other recipients' copies can still go out.
    per_copy: bool = False


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {' '.join(text.split())}".strip()


def _is_4xx(code: int) -> bool:
    return 400 <= code < 500


def describe_failure(exc: BaseException, *, where: str = "the mail server") -> SMTPFailure:
    """What went wrong, in words a user can act on, and whether to retry."""
    if isinstance(exc, crypto.UnreadablePassword):
        return SMTPFailure(str(exc), transient=False)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SMTPFailure(
            f"The server refused the user name or password: {_reply(exc.smtp_code, exc.smtp_error)}", transient=False
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{address} ({_reply(code, text)})" for address, (code, text) in exc.recipients.items()]
        codes = [code for code, _ in exc.recipients.values()]
        return SMTPFailure(
            f"The server refused the recipient {', '.join(parts)}",
            transient=bool(codes) and all(_is_4xx(c) for c in codes),
            per_copy=True,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return SMTPFailure(
            f"The server refused the sender address {exc.sender}: {_reply(exc.smtp_code, exc.smtp_error)}",
            transient=_is_4xx(exc.smtp_code),
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return SMTPFailure(
            f"The server rejected the message: {_reply(exc.smtp_code, exc.smtp_error)}",
            transient=_is_4xx(exc.smtp_code),
            per_copy=True,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SMTPFailure(
            f"The server at {where} does not support what this mailbox needs: {str(exc).rstrip('.')}. "
            "Check the security setting (STARTTLS, SSL/TLS or none).",
            transient=False,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return SMTPFailure(
            f"The server at {where} replied: {_reply(exc.smtp_code, exc.smtp_error)}", transient=_is_4xx(exc.smtp_code)
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a read timeout into "Connection unexpectedly closed".
        if isinstance(exc.__context__, TimeoutError):
            return _timed_out(where)
        return SMTPFailure(f"The server at {where} closed the connection unexpectedly.", transient=True)
    if isinstance(exc, ssl.SSLError):
        return SMTPFailure(
            f"The secure connection to {where} failed ({exc.reason or exc}). "
            "Check the security setting: port 465 is usually SSL/TLS, 587 STARTTLS.",
            transient=False,
        )
    if isinstance(exc, socket.gaierror):
        return SMTPFailure(f"Unknown host: {where.rsplit(':', 1)[0]} could not be found.", transient=True)
    if isinstance(exc, ConnectionRefusedError):
        return SMTPFailure(
            f"The server at {where} refused the connection: nothing is listening on that port.", transient=True
        )
    if isinstance(exc, TimeoutError):
        return _timed_out(where)
    if isinstance(exc, smtplib.SMTPException):
        return SMTPFailure(f"The mail server reported an error: {exc}", transient=True)
    if isinstance(exc, OSError):
        return SMTPFailure(f"Could not reach the server at {where}: {exc.strerror or exc}", transient=True)
    raise exc


def _timed_out(where: str) -> SMTPFailure:
    seconds = f"{SMTP_TIMEOUT:g} second{'' if SMTP_TIMEOUT == 1 else 's'}"
    return SMTPFailure(f"The server at {where} did not answer within {seconds}.", transient=True)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def check_connection(smtp: SMTPSettings) -> CheckResult:
    """Really connect (and log in when there is a user name): the "Test
    connection" button."""
    backend = smtp_backend(smtp)
    try:
        backend.open()
    except (smtplib.SMTPException, OSError) as exc:
        return CheckResult(False, describe_failure(exc, where=smtp.where).message)
    finally:
        backend.close()
    logged_in = " and logged in" if smtp.username and smtp.password else ""
    return CheckResult(True, f"Connected to {smtp.where}{logged_in}. This mailbox can send.")


# --- The development mailbox ---------------------------------------------------

_KEY_RE = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{32}$")


def _org_dir(organization_id: int) -> Path:
    return Path(settings.DEV_OUTBOX_DIR) / f"org-{int(organization_id)}"


class DevelopmentOutboxBackend(BaseEmailBackend):
    """Delivers each message to a file instead of a server: one .eml per
    delivered copy, and a .json next to it with what the SMTP envelope would
    have said (organization, email, envelope recipients, time)."""

    def __init__(self, *, organization_id: int, email_id: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.organization_id = organization_id
        self.email_id = email_id

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        folder = _org_dir(self.organization_id)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            now = timezone.now()
            key = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}"
            raw = message.message()
            meta = {
                "organization_id": self.organization_id,
                "email_id": self.email_id,
                "envelope_recipients": recipients,
                "delivered_at": now.isoformat(),
                "subject": str(raw["Subject"] or ""),
                "to": str(raw["To"] or ""),
                "from": str(raw["From"] or ""),
            }
            _write_atomically(folder / f"{key}.eml", raw.as_bytes(linesep="\n"))
            # The .json is written last: a message is listed once both exist.
            _write_atomically(folder / f"{key}.json", json.dumps(meta, indent=2).encode())
            sent += 1
        return sent


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class OutboxMessage:
    key: str
    meta: dict
    folder: Path

    @property
    def subject(self) -> str:
        return self.meta.get("subject", "")

    @property
    def to(self) -> str:
        return self.meta.get("to", "")

    @property
    def envelope_recipients(self) -> list[str]:
        return list(self.meta.get("envelope_recipients", []))

    @property
    def email_id(self) -> int | None:
        return self.meta.get("email_id")

    @property
    def delivered_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["delivered_at"])

    @cached_property
    def parsed(self) -> ParsedMessage:
        return message_from_bytes((self.folder / f"{self.key}.eml").read_bytes(), policy=policy.default)

    def header(self, name: str) -> str:
        return str(self.parsed[name] or "")

    @cached_property
    def headers(self) -> dict[str, str]:
        """The visible headers, keyed for templates (message_id, not Message-ID)."""
        names = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
        return {name.lower().replace("-", "_"): self.header(name) for name in names}

    def part(self, content_type: str) -> str:
        for part in self.parsed.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        return ""


def outbox_messages(organization_id: int) -> list[OutboxMessage]:
    """The organization's delivered copies, newest first."""
    folder = _org_dir(organization_id)
    if not folder.is_dir():
        return []
    keys = sorted((p.stem for p in folder.glob("*.json") if _KEY_RE.match(p.stem)), reverse=True)
    return [m for m in (_load(folder, key, organization_id) for key in keys) if m is not None]


def outbox_message(organization_id: int, key: str) -> OutboxMessage | None:
    # The key names a file: only our own shape gets near the file system.
    if not _KEY_RE.match(key):
        return None
    return _load(_org_dir(organization_id), key, organization_id)


def _load(folder: Path, key: str, organization_id: int) -> OutboxMessage | None:
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("organization_id") != organization_id or not (folder / f"{key}.eml").exists():
        return None
    return OutboxMessage(key=key, meta=meta, folder=folder)
