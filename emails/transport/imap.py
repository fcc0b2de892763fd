"""Talking to an IMAP server: a mailbox's IMAP settings, the connection
(through the outbound guard, emails.transport.guard, like SMTP), and "Test
connection" for IMAP. IMAP errors in words are
emails.transport.imap_failures."""

import imaplib
import ssl
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from .. import crypto
from ..models import Mailbox
from ..sync.imap_folders import find_folders
from .guard import connect
from .imap_failures import describe_imap_failure
from .server import IMAP_TIMEOUT, CheckResult, ServerLogin


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
    """IMAPClient whose connection is made by the guard's connect."""

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
