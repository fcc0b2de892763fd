"""The Email sync form: a user's mailbox, its SMTP side and its IMAP side."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from onepage.validators import AddressField, RefuseControlCharacters

from .. import crypto
from ..models import Mailbox
from ..transport.guard import host_problem

DEVELOPMENT_ONLY = (
    "The development mailbox is only available when OnePage runs in development mode (DEBUG). "
    "Connect an SMTP server instead."
)


def _host_error(host: str) -> str | None:
    """What is wrong with a server's host name as typed (SMTP and IMAP alike)."""
    if any(c in host for c in " \r\n"):
        return "Enter a host name without spaces."
    return host_problem(host)


def _port(port: int | None) -> int | None:
    if port is not None and not 1 <= port <= 65535:
        raise ValidationError("Enter a port between 1 and 65535.")
    return port


def _ascii_login(value: str) -> str:
    # smtplib sends the login as ASCII: anything else failed as a 500.
    if not value.isascii():
        raise ValidationError("Use letters, digits and symbols of ASCII only: SMTP logins cannot carry others.")
    return value


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
        if problem := _host_error(host):
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


class MailboxForm(IMAPFields, RefuseControlCharacters, forms.ModelForm):
    kind = forms.ChoiceField(
        label="Send through", choices=Mailbox.Kind.choices, widget=forms.RadioSelect, initial=Mailbox.Kind.SMTP
    )
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )

    imap_same_login = forms.BooleanField(label="Same user name and password as SMTP", required=False, initial=True)
    imap_password = forms.CharField(
        label="IMAP password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )

    class Meta:
        model = Mailbox
        fields = [
            "kind",
            "smtp_host",
            "smtp_port",
            "security",
            "username",
            "password",
            "from_name",
            "from_address",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "save_sent_copies",
        ]
        labels = {"from_name": "From name", "from_address": "From address", "username": "User name"}
        field_classes = {"from_address": AddressField}
        help_texts = {
            "smtp_host": "For example smtp.gmail.com or mail.yourcompany.com.",
            "smtp_port": "587 for STARTTLS, 465 for SSL/TLS.",
            "from_address": "The address your recipients see and reply to.",
            "imap_host": "For example imap.gmail.com. Leave empty not to sync this mailbox.",
            "imap_port": "993 for SSL/TLS, 143 for STARTTLS.",
            "save_sent_copies": "Put a copy of the emails you send from OnePage in your Sent folder "
            "(without any tracking pixel) when your server does not file one itself.",
        }
        widgets = {"security": forms.RadioSelect, "imap_security": forms.RadioSelect}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not settings.DEBUG:
            # The choice is not offered; a crafted POST gets this error.
            self.fields["kind"].choices = [(Mailbox.Kind.SMTP, Mailbox.Kind.SMTP.label)]
            self.fields["kind"].error_messages["invalid_choice"] = DEVELOPMENT_ONLY
        self.has_password = bool(self.instance.pk and self.instance.password_encrypted)
        if self.has_password:
            self.fields["password"].help_text = "Leave blank to keep the current password."
        self.fields["from_address"].widget.attrs["autocomplete"] = "email"
        # Only an SMTP server needs these; clean() asks for them then.
        for name in ("smtp_port", "security", "imap_port", "imap_security"):
            self.fields[name].required = False
        self.has_imap_password = bool(self.instance.pk and self.instance.imap_password_encrypted)
        if self.instance.pk and self.instance.imap_host:
            self.initial["imap_same_login"] = self.instance.imap_username == self.instance.username
        if self.has_imap_password:
            self.fields["imap_password"].help_text = "Leave blank to keep the current password."
        for name in ("username", "password", "imap_username", "imap_password"):
            self.fields[name].validators.append(_ascii_login)
        for name in ("smtp_port", "imap_port"):
            self.fields[name].validators.append(_port)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") != Mailbox.Kind.SMTP:
            return data
        if not data.get("smtp_host"):
            self.add_error("smtp_host", "Enter the SMTP server's host name.")
        elif problem := _host_error(data["smtp_host"]):
            self.add_error("smtp_host", problem)
        if data.get("smtp_port") is None and "smtp_port" not in self.errors:
            self.add_error("smtp_port", "Enter the SMTP port.")
        if not data.get("security") and "security" not in self.errors:
            self.add_error("security", "Choose how the connection is secured.")
        if (
            data.get("username")
            and not data.get("password")
            and not self.has_password
            and "password" not in self.errors
        ):
            self.add_error("password", "Enter the password for this user name.")
        self._clean_imap(data)
        return data

    def new_password(self) -> str | None:
        """The password to store: None keeps the current one."""
        return self.cleaned_data.get("password") or None
