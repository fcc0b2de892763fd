"""The IMAP part of the Email sync form (emails.forms.MailboxForm)."""

from . import crypto
from .connections import host_problem
from .models import Mailbox


class IMAPFields:
    """Checks and values of the IMAP fields; "same as SMTP" reuses the SMTP
    user name and password."""

    errors: dict
    cleaned_data: dict
    has_imap_password: bool

    def _clean_imap(self, data: dict) -> None:
        host = data.get("imap_host", "")
        if not host:
            return
        if any(c in host for c in " \r\n"):
            self.add_error("imap_host", "Enter a host name without spaces.")
        elif problem := host_problem(host):
            self.add_error("imap_host", problem)
        if data.get("imap_port") is None and "imap_port" not in self.errors:
            self.add_error("imap_port", "Enter the IMAP port.")
        if not data.get("imap_security") and "imap_security" not in self.errors:
            self.add_error("imap_security", "Choose how the IMAP connection is secured.")
        if data.get("imap_same_login"):
            data["imap_username"] = data.get("username", "")
        elif not data.get("imap_username") and "imap_username" not in self.errors:
            self.add_error("imap_username", "Enter the IMAP user name.")
        elif not data.get("imap_password") and not self.has_imap_password and "imap_password" not in self.errors:
            self.add_error("imap_password", "Enter the IMAP password.")

    def imap_values(self, *, current: Mailbox | None) -> dict:
        """The IMAP settings to store; imap_password None keeps the current one."""
        data = self.cleaned_data
        if not data.get("imap_host") or data.get("kind") != Mailbox.Kind.SMTP:
            return {"imap_host": ""}
        password = data.get("imap_password") or None
        if data.get("imap_same_login"):
            password = self.new_password()
            if password is None and current is not None:
                password = crypto.decrypt(current.password_encrypted) if current.password_encrypted else ""
        return {
            "imap_host": data["imap_host"],
            "imap_port": data["imap_port"],
            "imap_security": data["imap_security"],
            "imap_username": data["imap_username"],
            "imap_password": password,
            "save_sent_copies": data.get("save_sent_copies", False),
        }
