"""The one validator for control characters, used by every form field and
search box of every app.

NUL makes PostgreSQL refuse a query (a 500); a vertical tab, form feed or
file separator is a line break to Python's email package, so in a subject or
a from name it broke every send of that email or of that sender. Typed text
has no use for any of them: C0 and C1 controls, DEL, and the Unicode line and
paragraph separators are refused, apart from tab everywhere and line breaks
(CR, LF) where several lines are legitimate (a Textarea, such as a body).

It also holds the one way an email address is read from a form: bare, or
with a display name as mail clients copy it (parse_address, AddressField)."""

import re
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import HeaderRegistry

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, validate_email
from django.utils.deconstruct import deconstructible

LINE_BREAKS = "Line breaks are not allowed here."
CONTROL_CHARACTERS = "Control characters (such as NUL, a vertical tab or a form feed) are not allowed here."

_LINE_BREAK = re.compile(r"[\r\n]")
_ONE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


@deconstructible
class ControlCharacterValidator:
    def __init__(self, *, line_breaks: bool = False) -> None:
        self.line_breaks = line_breaks

    def __call__(self, value: object) -> None:
        if not isinstance(value, str):
            return
        if (_LINES if self.line_breaks else _ONE_LINE).search(value) is None:
            return
        if not self.line_breaks and _LINE_BREAK.search(value) and _LINES.search(value) is None:
            raise ValidationError(LINE_BREAKS, code="line_break")
        raise ValidationError(CONTROL_CHARACTERS, code="control_character")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ControlCharacterValidator) and other.line_breaks == self.line_breaks


one_line = ControlCharacterValidator()
lines = ControlCharacterValidator(line_breaks=True)


class RefuseControlCharacters:
    """Form mixin: each text field gets the validator, allowing line breaks
    only in a Textarea."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                # Ours covers NUL too: one message, not two.
                kept = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
                field.validators = [*kept, lines if isinstance(field.widget, forms.Textarea) else one_line]


NON_ASCII_ADDRESS = (
    "Accents and other letters beyond plain ASCII are not supported before the @ of an email address: "
    "most mail servers would refuse it."
)


def validate_address(value: str) -> None:
    """An email address as every form takes it: Django's check, with words of
    its own for the accented local part that check refuses (chloé@...)."""
    local = value.rpartition("@")[0]
    if local and not local.isascii():
        raise ValidationError(NON_ASCII_ADDRESS, code="invalid")
    validate_email(value)


# An address as a mail client copies it: `Ann Lee <ann@x.com>`, `"Lee, Ann" <ann@x.com>`.
_ADDRESS_HEADER = HeaderRegistry()
# Addresses typed in one box are separated by commas or semicolons (as Outlook
# copies them), never inside a quoted name; a lone quote is a character.
_ONE_OF_SEVERAL = re.compile(r'(?:"(?:\\.|[^"\\])*"|[^,;])+')


def parse_address(value: str) -> tuple[str, str]:
    """(display name, address) of one address as typed: bare, or with a
    display name as mail clients copy it. The name is parsed by the standard
    library's email package (quotes, encoded words); the address is then
    checked by validate_address, so both forms get the same words."""
    value = value.strip()
    if "<" not in value and ">" not in value:
        validate_address(value)
        return "", value
    try:
        header = _ADDRESS_HEADER("to", value)
        addresses = header.addresses
    except Exception:  # The parser's own errors on odd input: the address is not valid.
        raise ValidationError(validate_email.message, code="invalid") from None
    # An accented local part is checked below, with words of its own.
    defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    if len(addresses) != 1 or defects or not addresses[0].addr_spec:
        raise ValidationError(validate_email.message, code="invalid")
    validate_address(addresses[0].addr_spec)
    return addresses[0].display_name, addresses[0].addr_spec


def split_addresses(value: str) -> list[str]:
    """The addresses typed in one box, as typed, blank ones left out."""
    return [part.strip() for part in _ONE_OF_SEVERAL.findall(value) if part.strip()]


class AddressField(forms.EmailField):
    """One email address, bare or pasted with a display name; cleans to the
    bare address."""

    default_validators = []  # parse_address checks, with validate_address's words

    def to_python(self, value: object) -> str:
        value = super().to_python(value)
        return parse_address(value)[1] if value else value
