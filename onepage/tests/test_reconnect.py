"""A write that meets a connection the database dropped (the primary
stopped for a switchover) is made again on a new connection, the standby
promoted meanwhile: onepage.reconnect."""

import psycopg2
import pytest
from django.db import OperationalError, connection, transaction

from onepage.reconnect import connection_lost, retrying
from onepage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL run")


def drop_connection() -> None:
    """Ends this process's database session from the server's side, as a
    stopping primary does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    s = connection.settings_dict
    admin = psycopg2.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
                             dbname=s["NAME"])  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    admin.close()


def rename(user_id: int, name: str) -> int:
    return UserFactory._meta.model.objects.filter(pk=user_id).update(first_name=name)


def test_a_write_on_a_dropped_connection_is_made_on_a_new_one():
    user = UserFactory()
    drop_connection()

    assert retrying(lambda: rename(user.pk, "Ada")) == 1

    user.refresh_from_db()
    assert user.first_name == "Ada"


def test_without_it_the_write_fails():
    user = UserFactory()
    drop_connection()
    with pytest.raises(OperationalError):
        rename(user.pk, "Ada")
    connection.close()


def test_inside_a_transaction_it_is_not_retried():
    # Half a transaction cannot be made again: the caller's whole one must.
    user = UserFactory()
    drop_connection()
    with pytest.raises(OperationalError), transaction.atomic():
        retrying(lambda: rename(user.pk, "Ada"))
    connection.close()


def test_a_dropped_connection_is_told_from_a_failed_statement():
    with pytest.raises(OperationalError) as failed_statement, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")
    assert not connection_lost(failed_statement.value)

    drop_connection()
    with pytest.raises(OperationalError) as dropped:
        rename(0, "Ada")
    assert connection_lost(dropped.value)
    connection.close()
