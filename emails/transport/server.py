"""What SMTP and IMAP share: the login to a user's mail server, the words
for failing to reach one at all, and the answer of "Test connection"."""

import socket
import ssl
from dataclasses import dataclass, field

# Connecting and each command: long enough for a slow server, short enough
# that a worker (or the person clicking "Test connection") is not left
# hanging. The reply to the end of a message's DATA gets SMTP_DATA_TIMEOUT
# (RFC 5321 4.5.3.2.6: 10 minutes), see emails.transport.smtp.
SMTP_TIMEOUT = 10
IMAP_TIMEOUT = 15


@dataclass(frozen=True)
class ServerLogin:
    """What it takes to reach a user's mail server (SMTP or IMAP); the password
    in clear, in memory only, and never in a repr (an error report listing
    local variables shows reprs)."""

    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def network_failure(exc: BaseException, *, where: str, tls_ports: str) -> tuple[str, bool] | None:
    """Words for a failure to reach a mail server at all (SMTP and IMAP alike),
    and whether trying later may help; None when `exc` is not one of those.
    `tls_ports` names the usual ports, e.g. "465 is usually SSL/TLS, 587 STARTTLS"."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"The certificate of {where} could not be verified ({exc.verify_message or exc.reason}). "
            "Check the host name: it must be the one on the server's certificate, as your mail provider gives it.",
            False,
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"The secure connection to {where} failed ({exc.reason or exc}). "
            f"Check the security setting: port {tls_ports}.",
            False,
        )
    if isinstance(exc, socket.gaierror):
        return f"Unknown host: {where.rsplit(':', 1)[0]} could not be found.", True
    if isinstance(exc, ConnectionRefusedError):
        return f"The server at {where} refused the connection: nothing is listening on that port.", True
    return None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
