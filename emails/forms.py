import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from onepage.validators import NON_ASCII_ADDRESS, RefuseControlCharacters, one_line, validate_address

from .configuration import SWITCHES
from .connections import host_problem
from .imap_form import IMAPFields
from .models import EmailConfiguration, Mailbox

_LINE_BREAK = re.compile(r"[\r\n]")
_ADDRESS_SEPARATOR = re.compile(r"[,;]")
# One email fans out into one copy per recipient when tracked: keep it a
# conversation, not a mass mailing.
MAX_RECIPIENTS = 50

DEVELOPMENT_ONLY = (
    "The development mailbox is only available when OnePage runs in development mode (DEBUG). "
    "Connect an SMTP server instead."
)


def _port(port: int | None) -> int | None:
    if port is not None and not 1 <= port <= 65535:
        raise ValidationError("Enter a port between 1 and 65535.")
    return port


def _ascii_login(value: str) -> str:
    # smtplib sends the login as ASCII: anything else failed as a 500.
    if not value.isascii():
        raise ValidationError("Use letters, digits and symbols of ASCII only: SMTP logins cannot carry others.")
    return value


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

    def clean_username(self) -> str:
        return _ascii_login(self.cleaned_data["username"])

    def clean_password(self) -> str:
        return _ascii_login(self.cleaned_data["password"])

    def clean_imap_username(self) -> str:
        return _ascii_login(self.cleaned_data["imap_username"])

    def clean_imap_password(self) -> str:
        return _ascii_login(self.cleaned_data["imap_password"])

    def clean_smtp_port(self) -> int:
        return _port(self.cleaned_data["smtp_port"])

    def clean_imap_port(self) -> int:
        return _port(self.cleaned_data["imap_port"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") != Mailbox.Kind.SMTP:
            return data
        if not data.get("smtp_host"):
            self.add_error("smtp_host", "Enter the SMTP server's host name.")
        elif _LINE_BREAK.search(data["smtp_host"]) or " " in data["smtp_host"]:
            self.add_error("smtp_host", "Enter a host name without spaces.")
        elif problem := host_problem(data["smtp_host"]):
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


class AddressListField(forms.CharField):
    """Comma-separated email addresses, each validated."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def to_python(self, value: str | None) -> list[str]:
        value = super().to_python(value)
        # Checked before the split: a line break would start a header of its own.
        one_line(value)
        addresses = [a.strip() for a in _ADDRESS_SEPARATOR.split(value) if a.strip()]
        bad = []
        for address in addresses:
            try:
                validate_address(address)
            except ValidationError:
                bad.append(address)
        if bad:
            label = "Not a valid email address" if len(bad) == 1 else "Not valid email addresses"
            hint = f" ({NON_ASCII_ADDRESS[0].lower()}{NON_ASCII_ADDRESS[1:-1]})" if _accented(bad) else ""
            raise ValidationError(f"{label}: {', '.join(bad)}{hint}")
        return addresses


def _accented(addresses: list[str]) -> bool:
    return any(not address.rpartition("@")[0].isascii() for address in addresses)


class ComposeForm(RefuseControlCharacters, forms.Form):
    to = AddressListField(label="To", help_text="Separate several addresses with commas.")
    cc = AddressListField(label="Cc")
    bcc = AddressListField(label="Bcc", help_text="Bcc recipients are not shown to anyone else.")
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), strip=False)
    track = forms.BooleanField(required=False, initial=True, label="Track")

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise ValidationError("Write a message.")
        return body

    def clean(self) -> dict:
        data = super().clean()
        seen: set[str] = set()
        total = 0
        for name in ("to", "cc", "bcc"):
            addresses = data.get(name)
            if addresses is None:
                continue
            total += len(addresses)
            repeated = []
            for address in addresses:
                if address.lower() in seen:
                    repeated.append(address)
                seen.add(address.lower())
            if repeated:
                self.add_error(name, f"Listed more than once: {', '.join(repeated)}")
        if total == 0 and not any(f in self.errors for f in ("to", "cc", "bcc")):
            self.add_error("to", "Add at least one recipient.")
        elif total > MAX_RECIPIENTS:
            self.add_error("to", f"An email can go to at most {MAX_RECIPIENTS} recipients.")
        return data


class EmailConfigurationForm(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Left empty: the words stay as they are.
        self.fields["preference_link_text"].required = False
        self.fields["unknown_recipients"].required = False
        self.fields["open_retention_months"].required = False

    class Meta:
        model = EmailConfiguration
        fields = (*SWITCHES, "unknown_recipients", "open_retention_months", "preference_link_text")
        labels = {"allow_open_tracking": "Allow open tracking"}
        help_texts = {
            "allow_open_tracking": "Emails sent from OnePage carry the tracking pixel unless the sender "
            "switches Track off. When this is off, no email is tracked.",
            "track_eu_only_with_consent": "Contacts whose country is in the EU/EEA or the UK are tracked only "
            "when their open-tracking preference is Allowed.",
            "delete_opens_on_withdrawal": "When a contact's preference becomes Refused (by a user or through "
            "their own link), the opens already recorded of emails sent to them are deleted. Off: they are "
            "kept. No open is recorded after a refusal either way.",
            "unknown_recipients": "While the EU/EEA and UK rule is on: how opens of recipients who are not "
            "contacts (an address typed in Cc), or contacts of unknown country who have not allowed tracking, "
            "are tracked.",
            "open_retention_months": "Recorded opens older than this are deleted; the counters follow. 0 keeps them.",
            "count_machine_opens": "Fetches of the pixel that are no person reading (Apple Mail privacy "
            "protection, security scanners, a fetch on delivery, reloads within seconds, your team's own "
            "browser) are recorded apart. Off: reports show them on hover, not as opens. On: the email's "
            "report counts them too. The lists and the Open tracking folder always count people.",
            "preference_link": "Each tracked copy sent to a contact ends with a link to a page where they "
            "refuse (or allow) tracking themselves, in their language where their country says it.",
        }
