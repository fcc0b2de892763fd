"""Search that ignores accents and case alike on PostgreSQL and SQLite:
"chloe" finds "Chloé", "GARCIA" finds "García".

`field__unaccent__icontains=unaccented(word)`: the `unaccent` transform strips
accents in the database (PostgreSQL's unaccent extension, created by a
migration; on SQLite a function of ours registered on each connection), and
`unaccented` strips them from what was typed."""

import unicodedata

from django.db import models
from django.db.backends.signals import connection_created
from django.dispatch import receiver


def unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@models.CharField.register_lookup
@models.TextField.register_lookup
class Unaccent(models.Transform):
    lookup_name = "unaccent"
    function = "UNACCENT"


@receiver(connection_created)
def _sqlite_unaccent(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "UNACCENT", 1, lambda value: None if value is None else unaccented(value), deterministic=True
        )
