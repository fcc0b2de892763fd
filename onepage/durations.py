"""A wait in words, one rule for every page that says one ("Median time to
first open: 3 hours" on a contact's reading times and in Reports): one
unit, rounded; minutes under an hour, hours under two days, then days."""

import datetime as dt


def duration_words(duration: dt.timedelta) -> str:
    minutes = duration.total_seconds() / 60
    if minutes < 1:
        return "under a minute"
    if round(minutes) < 60:
        return "1 minute" if round(minutes) == 1 else f"{round(minutes)} minutes"
    if round(minutes / 60) < 48:
        return "1 hour" if round(minutes / 60) == 1 else f"{round(minutes / 60)} hours"
    return f"{round(minutes / 60 / 24)} days"
