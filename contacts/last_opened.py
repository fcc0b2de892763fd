"""The contacts list's Last opened: each contact's latest open by name, over
every email sent to them. Opens belong to the apps above contacts: the one
that knows them fills this slot from its AppConfig.ready (alerts:
alerts.feed.with_last_opened), the way emails fills forms.provide_country_help.
Unfilled, the list has no Last opened column and no such sort."""

from collections.abc import Callable

from django.db.models import F, QuerySet

from .models import Contact

# contacts -> the same contacts, each with `last_opened_at` (None: never
# opened by name), in the same query.
Annotate = Callable[[QuerySet[Contact]], QuerySet[Contact]]
_annotate: list[Annotate] = []

SORTS = ("name", "last_opened")


def provide(annotate: Annotate) -> None:
    _annotate[:] = [annotate]


def available() -> bool:
    return bool(_annotate)


def with_last_opened(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    for annotate in _annotate:
        return annotate(contacts)
    return contacts


def latest_opened_first(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Newest open first, the contacts never opened last (by name among themselves)."""
    return contacts.order_by(F("last_opened_at").desc(nulls_last=True), *Contact._meta.ordering)
