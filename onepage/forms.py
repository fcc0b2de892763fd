from django import forms

from .models import TIME_ZONE_CHOICES, User


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[("", "Same as my organization"), *TIME_ZONE_CHOICES],
        required=False,
        help_text="Dates and times are shown in this time zone.",
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "time_zone")
