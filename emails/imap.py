"""Talking to an IMAP server: a mailbox's IMAP settings, the connection
(through emails.connections, like SMTP), "Test connection" for IMAP, and
IMAP errors in words a user can act on (and whether they are worth retrying)."""

import imaplib
import ssl
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from . import crypto
from .connections import RefusedDestination, ServerLogin, connect, network_failure
from .folders import find_folders
from .models import Mailbox
from .smtp import CheckResult

IMAP_TIMEOUT = 15


@dataclass(frozen=True)
class IMAPSettings(ServerLogin):
    """The mailbox's IMAP server."""

    @classmethod
    @sensitive_variables("password")
    def of(cls, mailbox: Mailbox) -> "IMAPSettings":
        secret = mailbox.imap_password_encrypted
        password = crypto.decrypt(secret) if secret else ""
        return cls(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security, mailbox.imap_username, password)


class _GuardedIMAP4(imaplib.IMAP4):
    def __init__(self, host: str, port: int, timeout: float | None) -> None:
        self._connect_timeout = timeout
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout=None):
        return connect(self.host, self.port, timeout=timeout or self._connect_timeout)


class _GuardedIMAP4_TLS(_GuardedIMAP4):
    def __init__(self, host: str, port: int, timeout: float | None, context: ssl.SSLContext) -> None:
        self.ssl_context = context
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout=None):
        # The certificate is checked against the name typed, not the address.
        return self.ssl_context.wrap_socket(super()._create_socket(timeout), server_hostname=self.host)


class GuardedIMAPClient(IMAPClient):
    """IMAPClient whose connection is made by emails.connections.connect."""

    def _create_IMAP4(self):
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _GuardedIMAP4_TLS(self.host, self.port, timeout, self.ssl_context or ssl.create_default_context())
        return _GuardedIMAP4(self.host, self.port, timeout)


@sensitive_variables()
def imap_connect(imap: IMAPSettings, *, timeout: float = IMAP_TIMEOUT) -> IMAPClient:
    """A logged-in IMAP session (STARTTLS when the security says so)."""
    client = GuardedIMAPClient(imap.host, port=imap.port, ssl=imap.security == Mailbox.Security.SSL, timeout=timeout)
    try:
        if imap.security == Mailbox.Security.STARTTLS:
            client.starttls(ssl.create_default_context())
        client.login(imap.username, imap.password)
    except BaseException:
        client.shutdown()
        raise
    return client


@dataclass(frozen=True)
class IMAPFailure:
    message: str
    transient: bool


def describe_imap_failure(exc: BaseException, *, where: str) -> IMAPFailure:
    """What went wrong, in the words of emails.smtp for the same causes."""
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


IMAP_ERRORS = (IMAPClientError, imaplib.IMAP4.error, OSError, crypto.UnreadablePassword)


@sensitive_variables()
def check_imap_connection(imap: IMAPSettings) -> CheckResult:
    """Really connect, log in and find the folders: IMAP's "Test connection"."""
    try:
        client = imap_connect(imap)
    except IMAP_ERRORS as exc:
        return CheckResult(False, describe_imap_failure(exc, where=imap.where).message)
    try:
        folders = find_folders(client)
    except IMAP_ERRORS as exc:
        return CheckResult(False, describe_imap_failure(exc, where=imap.where).message)
    finally:
        close_session(client)
    sent = folders.get("sent") or "none found"
    return CheckResult(True, f"Connected to {imap.where} and logged in. Inbox: {folders['inbox']}; Sent: {sent}.")


def close_session(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection is being dropped anyway
        client.shutdown()
