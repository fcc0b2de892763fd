"""Many ids as the right side of an `__in` lookup."""

from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

from . import pgarrays


def among(ids: Iterable[int]) -> list[int] | RawSQL:
    """`ids` for `field__in=`: on PostgreSQL one array parameter, not one
    parameter per id, each of which Django prepares and resolves on its own
    (a recorder's batch: 1,000 recipients, 500 emails; issue 23), sent as
    one literal (onepage.pgarrays); elsewhere the list."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (pgarrays.ints(ids),))
    return ids
