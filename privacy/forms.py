from django import forms
from django.core.exceptions import ValidationError

from onepage.validators import RefuseControlCharacters

from .consent_request import LINK


class ConsentRequestForm(RefuseControlCharacters, forms.Form):
    """The consent-request email, editable before it goes (privacy.consent_request)."""

    subject = forms.CharField(max_length=300)
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 12}),
        strip=False,
        help_text="[link] becomes the contact's own link to their choice. This email is never tracked.",
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if LINK not in body:
            raise ValidationError(f"Keep {LINK} in the text: it becomes the contact's own link to their choice.")
        return body
