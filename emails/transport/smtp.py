"""Talking to an SMTP server: a mailbox's SMTP settings, the connection
(through the outbound guard, emails.transport.guard, with one login attempt
and a timeout of its own for the reply to the end of a message), Django's
SMTP backend on it, and "Test connection". SMTP errors in words are
emails.transport.smtp_failures."""

import ipaddress
import smtplib
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend
from django.views.decorators.debug import sensitive_variables

from .. import crypto
from ..models import Mailbox
from . import server
from .guard import connect
from .server import CheckResult, ServerLogin
from .smtp_failures import describe_failure


@dataclass(frozen=True)
class SMTPSettings(ServerLogin):
    """The mailbox's SMTP server."""

    @classmethod
    @sensitive_variables("password")
    def of(cls, mailbox: Mailbox, *, password: str | None = None) -> "SMTPSettings":
        if password is None:
            password = crypto.decrypt(mailbox.password_encrypted) if mailbox.password_encrypted else ""
        return cls(mailbox.smtp_host, mailbox.smtp_port, mailbox.security, mailbox.username, password)


def ehlo_name() -> str:
    """How OnePage introduces itself to mail servers: its own public name
    (from SITE_URL), an address literal for an IP, never "localhost"."""
    host = urlparse(settings.SITE_URL).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]"


class _OneLogin:
    """smtplib tries every mechanism the server offers until one works: a
    wrong password then costs one failed login per mechanism (and the server's
    delay after each). One mechanism, one attempt."""

    @sensitive_variables("password")
    def login(self, user: str, password: str, *, initial_response_ok: bool = True) -> tuple[int, bytes]:
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        offered = self.esmtp_features["auth"].upper().split()
        mechanism = next((m for m in ("CRAM-MD5", "PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise smtplib.SMTPException("No suitable authentication method found.")
        self.user, self.password = user, password
        method = getattr(self, "auth_" + mechanism.lower().replace("-", "_"))
        return self.auth(mechanism, method, initial_response_ok=initial_response_ok)


class GuardedSMTP(_OneLogin, smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return connect(host, port, timeout=timeout, source_address=self.source_address)


class GuardedSMTP_SSL(_OneLogin, smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        sock = connect(host, port, timeout=timeout, source_address=self.source_address)
        # The certificate is checked against the name typed, not the address.
        return self.context.wrap_socket(sock, server_hostname=self._host)


class _PhasedTimeouts:
    """smtplib's SMTP with a second timeout for the reply to the final "."
    of DATA, the one reply a server may take minutes to give (it is
    delivering or scanning the message). Records whether the message was
    handed over but never answered: then it may have been delivered, and
    must not be sent again automatically."""

    data_timeout: float = 600
    # True from the final "." of DATA until its reply arrives.
    awaiting_data_reply = False
    _in_data = False

    def putcmd(self, cmd, args=""):
        self._in_data = cmd.lower() == "data"
        super().putcmd(cmd, args)

    def send(self, s):
        super().send(s)
        # After DATA's 354, the message itself is the one send made of bytes.
        if self._in_data and isinstance(s, bytes):
            self.awaiting_data_reply = True
            if self.sock is not None:
                self.sock.settimeout(self.data_timeout)

    def data(self, msg):
        self.awaiting_data_reply = False
        try:
            reply = super().data(msg)
        finally:
            self._in_data = False
            if self.sock is not None:
                self.sock.settimeout(self.timeout)
        self.awaiting_data_reply = False
        return reply


class SMTP(_PhasedTimeouts, GuardedSMTP):
    pass


class SMTP_SSL(_PhasedTimeouts, GuardedSMTP_SSL):
    pass


class SMTPBackend(EmailBackend):
    """Django's SMTP backend, connecting only through the guard (STARTTLS
    keeps checking the certificate against the host name): `timeout` for
    connecting and the commands, `data_timeout` for the reply to the end of
    each message."""

    smtp_class: type[smtplib.SMTP] = SMTP
    smtp_ssl_class: type[smtplib.SMTP_SSL] = SMTP_SSL

    def __init__(self, *, data_timeout: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_timeout = data_timeout

    @property
    def connection_class(self):
        smtp = self.smtp_ssl_class if self.use_ssl else self.smtp_class

        def introduced(host: str, port: int, **params) -> smtplib.SMTP:
            return smtp(host, port, **{**params, "local_hostname": ehlo_name()})

        return introduced

    def open(self) -> bool | None:
        opened = super().open()
        if self.connection is not None:
            self.connection.data_timeout = self.data_timeout
        return opened


@sensitive_variables()
def smtp_backend(smtp: SMTPSettings, *, timeout: float | None = None) -> SMTPBackend:
    # Guarded: user-given hosts are reached only as allowed.
    return SMTPBackend(
        data_timeout=settings.SMTP_DATA_TIMEOUT,
        host=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp.password,
        use_tls=smtp.security == Mailbox.Security.STARTTLS,
        use_ssl=smtp.security == Mailbox.Security.SSL,
        timeout=timeout or server.SMTP_TIMEOUT,
        fail_silently=False,
    )


def delivery_unconfirmed(backend) -> bool:
    """After a failed send: the message was handed over whole but its reply
    never came, so it may have been delivered."""
    return bool(getattr(getattr(backend, "connection", None), "awaiting_data_reply", False))


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
