"""DATABASE_URL in libpq's multi-host form (README: PostgreSQL standby): the
primary and its standby both named, so that after a switchover the next
connection finds the promoted standby without a restart."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from onepage.database_url import database_config
from tests.faults.processes import free_port

PAIR = "postgres://app:pw@10.0.0.1:5432,10.0.0.2:5433/onepage?target_session_attrs=read-write"


def test_a_single_host_url_is_what_django_environ_makes_of_it():
    config = database_config("postgres://app:pw@db.internal:6432/onepage?sslmode=require")
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == ("db.internal", 6432, "onepage", "app")
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_two_hosts_become_libpq_lists_of_hosts_and_ports():
    config = database_config(PAIR)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"]) == ("10.0.0.1,10.0.0.2", "5432,5433")
    assert config["OPTIONS"]["target_session_attrs"] == "read-write"
    # A standby that does not answer is given up on, not waited for forever.
    assert config["OPTIONS"]["connect_timeout"] == 5


def test_a_host_without_a_port_gets_postgresqls_own_not_its_neighbours():
    # django-environ gives both hosts the one port it finds.
    config = database_config("postgres://app@primary,standby:5433/onepage")
    assert (config["HOST"], config["PORT"]) == ("primary,standby", "5432,5433")


def test_ipv6_hosts_lose_their_brackets_for_libpq():
    config = database_config("postgres://app@[::1]:5432,[::1]:5433/onepage")
    assert (config["HOST"], config["PORT"]) == ("::1,::1", "5432,5433")


def test_several_hosts_without_target_session_attrs_write_only_to_a_primary():
    # libpq's default (any) would settle on a read-only standby.
    config = database_config("postgres://app@primary,standby/onepage?connect_timeout=2")
    assert config["OPTIONS"] == {"target_session_attrs": "read-write", "connect_timeout": 2}


@pytest.mark.parametrize("url", ["postgres://app@a:1,/onepage", "postgres://app@a:x,b:2/onepage"])
def test_a_malformed_host_list_names_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_config(url)


def test_the_settings_read_a_multi_host_url():
    wrapper = DatabaseWrapper({**database_config(PAIR), "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": True}, "pair")
    params = wrapper.get_connection_params()
    assert (params["host"], params["port"]) == ("10.0.0.1,10.0.0.2", "5432,5433")
    assert params["target_session_attrs"] == "read-write"


@pytest.mark.django_db
def test_django_connects_past_a_host_that_refuses_to_the_one_that_answers():
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL run")
    real = connection.settings_dict
    dead = free_port()  # nothing listens there
    url = f"postgres://{real['USER']}:{real['PASSWORD']}@127.0.0.1:{dead},{real['HOST']}:{real['PORT'] or 5432}/{real['NAME']}"
    wrapper = DatabaseWrapper({**real, **database_config(url), "CONN_MAX_AGE": 0}, "pair")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            assert cursor.fetchone() == (int(real["PORT"] or 5432), False)
    finally:
        wrapper.close()
