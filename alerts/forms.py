"""The Notifications settings form: what a user is told, how, and (admins
only) about whose emails besides their own."""

from django import forms

from onepage.models import User

from .models import AlertSettings

MAX_QUIET_HOURS = 720  # 30 days: "came back" after longer than that would rarely be news


class Teammates(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class AlertSettingsForm(forms.ModelForm):
    """`teammates`: the admin's organization's other active members, the
    only users the "Also tell me about" field offers and accepts; None for a
    rep, who gets no such field (a posted value is ignored)."""

    came_back_after_hours = forms.IntegerField(
        label="Quiet period, in hours",
        min_value=1,
        max_value=MAX_QUIET_HOURS,
        help_text="An open after this long without one is news again: \u201copened again after 3 days\u201d.",
        error_messages={
            "required": "Say after how many hours, from 1 to 720.",
            "invalid": "Enter a whole number of hours, like 24.",
            "min_value": "The quiet period is at least 1 hour.",
            "max_value": "The quiet period is at most 720 hours (30 days).",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    daily_email_at = forms.TimeField(
        label="At",
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={
            "required": "Say at what time of day, like 17:00.",
            "invalid": "Enter a time of day as hours and minutes, like 17:00.",
        },
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    class Meta:
        model = AlertSettings
        fields = (
            "first_open",
            "came_back",
            "digest",
            "came_back_after_hours",
            "browser",
            "daily_email",
            "daily_email_at",
            "follows",
        )
        labels = {
            "first_open": "Someone opens an email for the first time",
            "came_back": "Someone opens it again after the quiet period",
            "digest": "Someone opens it again the same day (one line a day, kept up to date)",
            "browser": "Show browser notifications",
            "daily_email": "Send me a daily email of the day\u2019s opens",
        }
        help_texts = {
            "browser": "A notification from your browser as well as the bell, even while OnePage is in another tab. "
            "Your browser will ask you once whether OnePage may show them: allow it there too.",
        }

    def __init__(self, *args, teammates: list[User] | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if teammates is None:
            del self.fields["follows"]
            return
        self.fields["follows"] = Teammates(
            queryset=User.objects.filter(pk__in=[u.pk for u in teammates]),
            required=False,
            label="Also tell me about",
            help_text="Their emails\u2019 opens, as they are told of them.",
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "invalid_choice": "Choose teammates from the list: your organization's other active members.",
                "invalid_pk_value": "Choose teammates from the list: your organization's other active members.",
            },
        )
        # The choices as listed, without asking the database again.
        self.fields["follows"].choices = [(u.pk, u.display_name) for u in teammates]
