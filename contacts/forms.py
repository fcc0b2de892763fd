from django import forms
from django.core.validators import validate_email

from onepage.validators import RefuseControlCharacters, validate_address

from .models import Contact


class ContactForm(RefuseControlCharacters, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ("first_name", "last_name", "email", "company", "phone", "country", "open_tracking")

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.instance.organization = organization
        # The same address rule and words as the composer's.
        email = self.fields["email"]
        email.validators = [validate_address if v is validate_email else v for v in email.validators]

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
