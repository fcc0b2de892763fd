"""The contact page's reading times: when the contact reads, drawn as a week
by hour. Opens belong to the apps above contacts: tracking fills this slot
from its AppConfig.ready (tracking.reading_times.reading_times) and owns the
card's template (tracking/includes/reading_times.html). Unfilled, the page
has no such card."""

import zoneinfo
from collections.abc import Callable
from typing import Any

from onepage.models import Organization

from .models import Contact

# (contact, *, zone, organization) -> what the card shows, in the viewer's zone.
Load = Callable[..., Any]
_load: list[Load] = []


def provide(load: Load) -> None:
    _load[:] = [load]


def of(contact: Contact, *, zone: zoneinfo.ZoneInfo, organization: Organization) -> Any | None:
    for load in _load:
        return load(contact, zone=zone, organization=organization)
    return None
