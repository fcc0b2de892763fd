"""IMAP errors in words a user can act on, and whether they are worth
retrying: the words of emails.transport.smtp_failures for the same causes."""

import imaplib
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientError, LoginError

from .. import crypto
from .guard import RefusedDestination
from .server import IMAP_TIMEOUT, network_failure


@dataclass(frozen=True)
class IMAPFailure:
    message: str
    transient: bool


def describe_imap_failure(exc: BaseException, *, where: str) -> IMAPFailure:
    """What went wrong, in the words of emails.transport.smtp_failures for the same causes."""
    if isinstance(exc, crypto.UnreadablePassword | RefusedDestination):
        return IMAPFailure(str(exc), transient=False)
    if isinstance(exc, LoginError):
        return IMAPFailure(f"The IMAP server refused the user name or password: {_text(exc)}", transient=False)
    if found := network_failure(exc, where=where, tls_ports="993 is usually SSL/TLS, 143 STARTTLS"):
        return IMAPFailure(*found)
    if isinstance(exc, TimeoutError):
        return IMAPFailure(f"The server at {where} did not answer within {IMAP_TIMEOUT} seconds.", transient=True)
    if isinstance(exc, imaplib.IMAP4.abort):
        return IMAPFailure(f"The server at {where} closed the connection unexpectedly.", transient=True)
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error):
        return IMAPFailure(f"The IMAP server at {where} replied: {_text(exc)}", transient=True)
    if isinstance(exc, OSError):
        return IMAPFailure(f"Could not reach the server at {where}: {exc.strerror or exc}", transient=True)
    raise exc


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return " ".join(text.split()) or "no reason given"
