"""Talking to an SMTP server: the connection settings of a mailbox, Django's
SMTP backend for them, "Test connection", and SMTP errors in words a user
can act on (and whether they are worth retrying)."""

import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .connections import RefusedDestination, ServerLogin, network_failure
from .models import Mailbox
from .phased_smtp import PhasedSMTPBackend

# Connecting and each command: long enough for a slow server, short enough
# that a worker (or the person clicking "Test connection") is not left
# hanging. The reply to the end of a message's DATA gets SMTP_DATA_TIMEOUT
# (RFC 5321 4.5.3.2.6: 10 minutes), see PhasedSMTP.
SMTP_TIMEOUT = 10


@dataclass(frozen=True)
class SMTPSettings(ServerLogin):
    """The mailbox's SMTP server."""

    @classmethod
    @sensitive_variables("password")
    def of(cls, mailbox: Mailbox, *, password: str | None = None) -> "SMTPSettings":
        if password is None:
            password = crypto.decrypt(mailbox.password_encrypted) if mailbox.password_encrypted else ""
        return cls(mailbox.smtp_host, mailbox.smtp_port, mailbox.security, mailbox.username, password)


@sensitive_variables()
def smtp_backend(smtp: SMTPSettings, *, timeout: float | None = None) -> SMTPBackend:
    # Guarded (emails.connections): user-given hosts are reached only as allowed.
    return PhasedSMTPBackend(
        data_timeout=settings.SMTP_DATA_TIMEOUT,
        host=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp.password,
        use_tls=smtp.security == Mailbox.Security.STARTTLS,
        use_ssl=smtp.security == Mailbox.Security.SSL,
        timeout=timeout or SMTP_TIMEOUT,
        fail_silently=False,
    )


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
    if isinstance(exc, crypto.UnreadablePassword | RefusedDestination):
        return SMTPFailure(str(exc), transient=False)
    if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
        return _refusal(exc, where=where)
    return _connection_failure(exc, where=where)


def _refusal(exc: smtplib.SMTPException, *, where: str) -> SMTPFailure:
    """The server answered, and said no."""
    if isinstance(exc, smtplib.SMTPResponseException) and not 200 <= exc.smtp_code <= 599:
        # Not a mail server (smtplib could not read a reply code): its banner
        # is not repeated, it is none of the user's business.
        return SMTPFailure(
            f"The server at {where} did not answer like a mail server. Check the host name and the port.",
            transient=False,
        )
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
    return SMTPFailure(
        f"The server at {where} replied: {_reply(exc.smtp_code, exc.smtp_error)}", transient=_is_4xx(exc.smtp_code)
    )


def _connection_failure(exc: BaseException, *, where: str) -> SMTPFailure:
    """The conversation never got as far as an answer."""
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SMTPFailure(
            f"The server at {where} does not support what this mailbox needs: {str(exc).rstrip('.')}. "
            "Check the security setting (STARTTLS, SSL/TLS or none).",
            transient=False,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a read timeout into "Connection unexpectedly closed".
        if isinstance(exc.__context__, TimeoutError):
            return _timed_out(where)
        return SMTPFailure(f"The server at {where} closed the connection unexpectedly.", transient=True)
    if found := network_failure(exc, where=where, tls_ports="465 is usually SSL/TLS, 587 STARTTLS"):
        return SMTPFailure(*found)
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


@sensitive_variables()
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
