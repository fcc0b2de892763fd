from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import TIME_ZONE_CHOICES, User
from .validators import AddressField, RefuseControlCharacters


class ProfileForm(RefuseControlCharacters, forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[("", "Same as my organization"), *TIME_ZONE_CHOICES],
        required=False,
        help_text="Dates and times are shown in this time zone.",
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "time_zone")
        field_classes = {"email": AddressField}


class SearchForm(RefuseControlCharacters, forms.Form):
    """A list page's search box (`?q=`): an invalid search is a field error,
    shown next to the box, and the list is not filtered."""

    q = forms.CharField(required=False)

    def query(self, *, max_length: int = 200) -> str:
        return self.cleaned_data["q"][:max_length] if self.is_valid() else ""


class SignInForm(RefuseControlCharacters, AuthenticationForm):
    """The sign-in form: a user name with control characters is a field
    error, never a database lookup."""
