"""smtplib and Django's SMTP backend with two timeouts: a short one for
connecting and each command, and SMTP_DATA_TIMEOUT for the reply to the end
of a message (RFC 5321 4.5.3.2.6: 10 minutes), which a server may take
minutes to give. Built on the guarded connection (emails.connections)."""

from .connections import GuardedSMTP, GuardedSMTP_SSL, GuardedSMTPBackend


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


class PhasedSMTP(_PhasedTimeouts, GuardedSMTP):
    pass


class PhasedSMTP_SSL(_PhasedTimeouts, GuardedSMTP_SSL):
    pass


class PhasedSMTPBackend(GuardedSMTPBackend):
    """The guarded SMTP backend on PhasedSMTP: `timeout` for connecting and
    the commands, `data_timeout` for the reply to the end of each message."""

    smtp_class = PhasedSMTP
    smtp_ssl_class = PhasedSMTP_SSL

    def __init__(self, *, data_timeout: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_timeout = data_timeout

    def open(self) -> bool | None:
        opened = super().open()
        if self.connection is not None:
            self.connection.data_timeout = self.data_timeout
        return opened


def delivery_unconfirmed(backend) -> bool:
    """After a failed send: the message was handed over whole but its reply
    never came, so it may have been delivered."""
    return bool(getattr(getattr(backend, "connection", None), "awaiting_data_reply", False))
