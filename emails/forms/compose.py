"""The composer's form: recipients, subject, text and the Track toggle."""

from django import forms
from django.core.exceptions import ValidationError

from onepage.validators import NON_ASCII_ADDRESS, RefuseControlCharacters, one_line, parse_address, split_addresses

# One email fans out into one copy per recipient when tracked: keep it a
# conversation, not a mass mailing.
MAX_RECIPIENTS = 50


class AddressListField(forms.CharField):
    """Email addresses separated by commas or semicolons, each bare or pasted
    with a display name (`"Murphy, Aoife" <aoife@x.com>`), each validated.
    Cleans to the bare addresses: the email goes to the address, and the
    contact's name is what OnePage shows."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def to_python(self, value: str | None) -> list[str]:
        value = super().to_python(value)
        # Checked before the split: a line break would start a header of its own.
        one_line(value)
        addresses, bad, accented = [], [], False
        for typed in split_addresses(value):
            try:
                addresses.append(parse_address(typed)[1])
            except ValidationError as error:
                bad.append(typed)
                accented = accented or NON_ASCII_ADDRESS in error.messages
        if bad:
            label = "Not a valid email address" if len(bad) == 1 else "Not valid email addresses"
            hint = f" ({NON_ASCII_ADDRESS[0].lower()}{NON_ASCII_ADDRESS[1:-1]})" if accented else ""
            raise ValidationError(f"{label}: {', '.join(bad)}{hint}")
        return addresses


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


def addresses_typed(data) -> list[str]:
    """The valid addresses typed so far in To, Cc and Bcc, once each, in
    order (for the composer's tracking preview, while the rep types: an
    address not finished yet is left out, never an error)."""
    seen, addresses = set(), []
    for name in ("to", "cc", "bcc"):
        for typed in split_addresses(str(data.get(name, ""))):
            try:
                address = parse_address(typed)[1]
            except ValidationError:
                continue
            if address.lower() not in seen:
                seen.add(address.lower())
                addresses.append(address)
    return addresses[:MAX_RECIPIENTS]
