"""SMTP errors in words a user can act on, and whether they are worth
retrying (a 4xx reply, the network, a timeout)."""

import smtplib
from dataclasses import dataclass

from .. import crypto
from . import server
from .guard import RefusedDestination
from .server import network_failure


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
    timeout = server.SMTP_TIMEOUT
    seconds = f"{timeout:g} second{'' if timeout == 1 else 's'}"
    return SMTPFailure(f"The server at {where} did not answer within {seconds}.", transient=True)
