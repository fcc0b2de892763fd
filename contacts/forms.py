from collections.abc import Callable

from django import forms

from onepage.models import Organization
from onepage.validators import AddressField, RefuseControlCharacters

from .models import Contact

# What a missing (or an EU/EEA/UK) country means for the tracking of emails to
# the contact, in words: emails fills it (EmailsConfig.ready), as the rules are
# its own; organization -> the words, "" when there is nothing to say.
CountryHelp = Callable[[Organization], str]
_country_help: list[CountryHelp] = []


def provide_country_help(words: CountryHelp) -> None:
    _country_help[:] = [words]


class ContactForm(RefuseControlCharacters, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ("first_name", "last_name", "email", "company", "phone", "country", "open_tracking")
        # The same address rule and words as the composer's, pasted names too.
        field_classes = {"email": AddressField}

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.instance.organization = organization
        for words in _country_help:
            self.fields["country"].help_text = words(organization) or self.fields["country"].help_text

    def preference_wording(self) -> str:
        """The words the user saw beside the choice, for the consent record."""
        field = self.fields["open_tracking"]
        choices = " / ".join(str(label) for value, label in field.choices if value)
        return f"{field.label}: {choices}. {field.help_text}".strip()

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email:
            clash = Contact.objects.filter(organization=self.organization, email__iexact=email)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError("Another contact already has this email address.")
        return email

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not all(ch.isdigit() or ch in " +-().x" for ch in phone):
            raise forms.ValidationError("Use digits, spaces and + - ( ) only.")
        return phone
