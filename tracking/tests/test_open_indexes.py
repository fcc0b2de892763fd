"""Every index on the events costs each insert of the recorder's batches
(issue 23): the table keeps the ones its queries use, and a key's index is
never repeated by a single-column copy of it."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def _requires_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the indexes that cost the recorder are PostgreSQL's")


def test_the_events_table_keeps_one_index_per_use():
    _requires_postgresql()
    definitions = sorted(d.split(" USING ", 1)[1] for d in _indexes("tracking_openevent").values())
    assert definitions == [
        "btree (email_id, opened_at DESC)",  # an email's opens, newest first
        "btree (hit_key)",  # unique: a hit counts once
        "btree (id)",
        "btree (opened_at)",  # the retention purge
        "btree (recipient_id, opened_at DESC)",  # a recipient's opens, newest first
    ]


def test_a_recipients_contact_is_indexed_once():
    _requires_postgresql()
    on_contact = [d for d in _indexes("emails_emailrecipient").values() if "(contact_id" in d]
    assert len(on_contact) == 2, on_contact  # by email, and by latest open
    assert all("(contact_id, " in d for d in on_contact)
