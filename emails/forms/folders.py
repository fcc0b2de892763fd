"""The Open tracking folder's filters (`?opened=` and `?more_than=`)."""

from django import forms

from ..selectors import OpenFilters

MAX_OPENS = 1_000_000
WHOLE_NUMBER = "Opened more than: enter a whole number of times, such as 3."


class OpenFiltersForm(forms.Form):
    """`opened` comes from the select or an old link: an unknown value is
    ignored. `more_than` is typed: a count that is no whole number of 0 or
    more is a field error, shown next to its box, and the list is not
    filtered by it."""

    opened = forms.CharField(required=False)
    more_than = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OPENS,
        error_messages={
            "invalid": WHOLE_NUMBER,
            "min_value": "Opened more than: enter 0 or more.",
            "max_value": f"Opened more than: enter at most {MAX_OPENS:,}.",
        },
    )

    def clean_opened(self) -> str:
        opened = self.cleaned_data["opened"]
        return opened if opened in ("today", "week") else ""

    def filters(self) -> OpenFilters:
        self.is_valid()
        return OpenFilters(opened=self.cleaned_data.get("opened", ""), more_than=self.cleaned_data.get("more_than"))
