"""onepage.pgarrays: what PostgreSQL reads back from each literal is what
was given, whatever a text holds."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from onepage import pgarrays

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")


def _read_back(sql_type: str, literal: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x FROM unnest(%s::{sql_type}[]) WITH ORDINALITY AS a(x, n) ORDER BY n", [literal])
        return [x for (x,) in cursor.fetchall()]


def test_texts_come_back_as_given_quotes_backslashes_and_nulls_included():
    texts = ['a "quoted" word', "back\\slash", "comma, {brace}", "NULL", "", " spaced ", "l'apostrophe", "é✓", None]

    assert _read_back("text", pgarrays.texts(texts)) == texts


def test_ints_come_back_as_given_with_nulls_and_the_bigint_range():
    ints = [1, -5, 0, None, 2**62, True]

    assert _read_back("bigint", pgarrays.ints(ints)) == [1, -5, 0, None, 2**62, 1]


def test_times_come_back_as_the_same_instants_whatever_their_offset():
    paris = timezone(timedelta(hours=1))
    times = [
        datetime(2026, 12, 5, 3, 40, 1, 123456, tzinfo=UTC),
        datetime(2026, 12, 5, 4, 40, tzinfo=paris),
        None,
        datetime(1999, 1, 1, tzinfo=UTC),
    ]

    assert _read_back("timestamptz", pgarrays.times(times)) == times


def test_an_empty_list_is_an_empty_array():
    assert _read_back("bigint", pgarrays.ints([])) == []
    assert _read_back("text", pgarrays.texts(iter(()))) == []


def test_a_naive_time_is_refused_rather_than_read_in_the_connections_zone():
    with pytest.raises(ValueError, match="naive"):
        pgarrays.times([datetime(2026, 12, 5, 3, 40)])
