"""Deleting recorded opens, with the counters kept true: the one way opens
leave the database (a withdrawal, the retention purge, a contact erased).

The emails touched are locked first, in id order, like the recording writer
does (tracking.recording.write_opens), so a concurrent writer cannot count an
open against counters recomputed without it. The counters of what was
touched are then recomputed from the OpenEvents left."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, IntegerField, Max, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from emails.models import Email, EmailRecipient

from .models import OpenEvent


def delete_opens(event_ids: Iterable[int]) -> int:
    """Delete these OpenEvents and recount their recipients and emails.
    Returns how many were deleted. Keep batches bounded: the emails touched
    stay locked until the transaction ends."""
    event_ids = list(event_ids)
    if not event_ids:
        return 0
    with transaction.atomic():
        rows = list(OpenEvent.objects.filter(pk__in=event_ids).values_list("recipient_id", "email_id"))
        recipient_ids = {r for r, _ in rows if r is not None}
        email_ids = {e for _, e in rows}
        list(Email.objects.select_for_update().filter(pk__in=email_ids).order_by("pk").values_list("pk"))
        deleted, _ = OpenEvent.objects.filter(pk__in=event_ids).delete()
        recount(recipient_ids=recipient_ids, email_ids=email_ids)
    return deleted


def recount(*, recipient_ids: Iterable[int], email_ids: Iterable[int]) -> None:
    """Set open_count, first_opened_at and last_opened_at of these rows from
    their OpenEvents. Call with the emails locked."""
    EmailRecipient.objects.filter(pk__in=set(recipient_ids)).update(**_counters("recipient"))
    Email.objects.filter(pk__in=set(email_ids)).update(**_counters("email"))


def _counters(field: str) -> dict:
    events = OpenEvent.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return {
        "open_count": Coalesce(
            Subquery(events.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "first_opened_at": Subquery(events.annotate(first=Min("opened_at")).values("first")),
        "last_opened_at": Subquery(events.annotate(last=Max("opened_at")).values("last")),
    }
