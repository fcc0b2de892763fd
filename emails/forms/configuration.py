"""The organization's email settings (Settings -> Email), for admins."""

from django import forms

from ..configuration import SWITCHES
from ..models import MAX_RETENTION_MONTHS, RETENTION_BOUND, EmailConfiguration, TrackingMode

# The switch governs sending: a copy already sent carries its pixel, and its
# opens are recorded and counted as before.
ALREADY_SENT = "Emails already sent keep counting their opens."


class EmailConfigurationForm(forms.ModelForm):
    # The bound on the form too, in one message whatever was typed (121, -1, 1.5).
    open_retention_months = forms.IntegerField(
        label="Keep recorded opens for (months)",
        min_value=0,
        max_value=MAX_RETENTION_MONTHS,
        required=False,
        error_messages={"invalid": RETENTION_BOUND, "min_value": RETENTION_BOUND, "max_value": RETENTION_BOUND},
        help_text="Recorded opens older than this are deleted; the counters follow. "
        f"From 1 to {MAX_RETENTION_MONTHS} months; 0 keeps them.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Left empty: the words stay as they are.
        self.fields["preference_link_text"].required = False
        self.fields["unknown_recipients"].required = False

    class Meta:
        model = EmailConfiguration
        fields = (*SWITCHES, "unknown_recipients", "open_retention_months", "preference_link_text")
        labels = {"allow_open_tracking": "Allow open tracking"}
        help_texts = {
            "allow_open_tracking": "Emails sent from OnePage carry the tracking pixel unless the sender "
            "switches Track off. Off: emails sent from then on carry no pixel. " + ALREADY_SENT,
            "track_eu_only_with_consent": "Contacts whose country is in the EU/EEA or the UK are tracked only "
            "when their open-tracking preference is Allowed.",
            "delete_opens_on_withdrawal": "When a contact's preference becomes Refused (by a user or through "
            "their own link), the opens already recorded of emails sent to them are deleted. Off: they are "
            "kept. No open is recorded after a refusal either way.",
            "unknown_recipients": "While the EU/EEA and UK rule is on: how opens of recipients who are not "
            "contacts (an address typed in Cc), or contacts of unknown country who have not allowed tracking, "
            "are tracked.",
            "count_machine_opens": "Fetches of the pixel that are no person reading (Apple Mail privacy "
            "protection, security scanners, a fetch on delivery, reloads within seconds, your team's own "
            "browser) are recorded apart. Off: reports show them on hover, not as opens. On: the "
            "reports and their eyes count them too. The Open tracking folder's order and filters count people.",
            "preference_link": "Each tracked copy sent to a contact ends with a link to a page where they "
            "refuse (or allow) tracking themselves, in their language where their country says it.",
        }


# The change log names each setting in the form's own words, and the stored
# values of "Recipients who are not contacts" by the first words of their choice.
SETTING_LABELS = {name: str(field.label) for name, field in EmailConfigurationForm.base_fields.items()}
VALUE_LABELS = {mode.value: mode.label.split(":")[0] for mode in TrackingMode}
