"""Deleting recorded opens, with the counters kept true: the one way opens
leave the database (a withdrawal, the retention purge, a contact erased).

The emails touched are locked first, in id order, like the recording writer
does (tracking.writer.write_opens), so a concurrent writer cannot count an
open against counters recomputed without it. The counters of what was
touched are then recomputed from the OpenEvents left."""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import QuerySet

from emails.models import Email

from . import counters
from .models import OpenEvent

# A contact's opens are few (a person's mail); bounded all the same.
BATCH = 5000

# What a higher app does about its rows that go with the opens (alerts:
# the bell's count of the users whose unread notifications cascade), plugged
# in from its AppConfig.ready (`register`), so tracking never imports it.
# Called in the deleting transaction, before the delete, with a query of
# the opens about to go: a listener reads what hangs on them, and leaves
# any side effect to after the commit (transaction.on_commit).
Listener = Callable[[QuerySet], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    """Called once per listener at start-up (an AppConfig.ready)."""
    if listener not in _listeners:
        _listeners.append(listener)


def delete_opens(event_ids: Iterable[int]) -> int:
    """Delete these OpenEvents and recount their emails and recipients
    (tracking.counters.recount: people's opens and automatic fetches apart).
    Returns how many were deleted. Keep batches bounded: the emails touched
    stay locked until the transaction ends."""
    event_ids = list(event_ids)
    if not event_ids:
        return 0
    with transaction.atomic():
        email_ids = set(OpenEvent.objects.filter(pk__in=event_ids).values_list("email_id", flat=True))
        locked = list(
            Email.objects.select_for_update().filter(pk__in=email_ids).order_by("pk").values_list("pk", flat=True)
        )
        # Rows that hang on an open (a higher app's, e.g. alerts' notifications)
        # cascade with it; the count is of the opens alone.
        going = OpenEvent.objects.filter(pk__in=event_ids)
        for listener in _listeners:
            listener(going)
        _, by_model = going.delete()
        deleted = by_model.get(OpenEvent._meta.label, 0)
        counters.recount(email_ids=locked)
    return deleted


def delete_opens_of_recipients(recipient_ids: list[int]) -> int:
    """Delete every open of these recipient rows (a contact erased, whatever
    the organization's withdrawal setting), batch by batch. Returns how many."""
    deleted = 0
    for start in range(0, len(recipient_ids), BATCH):
        chunk = recipient_ids[start : start + BATCH]
        while ids := list(OpenEvent.objects.filter(recipient_id__in=chunk).values_list("pk", flat=True)[:BATCH]):
            deleted += delete_opens(ids)
    return deleted
