"""The last resort: opens neither Redis nor the database could take wait in
a local spool, and the recorder replays them once the database is back."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from emails.tests.factories import EmailRecipientFactory
from tracking import intake, spool
from tracking.hits import new_hit_key
from tracking.models import OpenEvent
from tracking.spool import replay as replay_spool
from tracking.tests.test_pixel import database_refusing_writes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_opens_spooled_in_an_outage_are_replayed_once(settings, caplog):
    recipient = EmailRecipientFactory()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with database_refusing_writes(), caplog.at_level(logging.WARNING, logger="tracking"):
        paths = [record_open_at(recipient, minute) for minute in range(50)]
    assert set(paths) == {"spool"}
    assert spool.count() == 50
    # One warning for the outage, not a traceback per open.
    assert sum("Neither Redis nor the database" in r.getMessage() for r in caplog.records) == 1
    assert not any(r.exc_info for r in caplog.records)

    assert replay_spool(batch_size=20) == 50
    assert replay_spool() == 0

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.first_opened_at) == (50, T0)
    assert OpenEvent.objects.count() == 50
    assert spool.count() == 0 == spool.size()


def test_the_end_of_an_outage_is_said_with_what_was_spooled(settings, caplog):
    recipient = EmailRecipientFactory()
    settings.REDIS_URL = ""
    with database_refusing_writes():
        record_open_at(recipient, 0)
    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert record_open_at(recipient, 1) == "direct"
    assert "Recording opens again: 1 opens spooled" in caplog.text


def test_a_hit_both_spooled_and_written_counts_once():
    # A replay that died after its commit, before deleting its file, is
    # replayed again: the keys make that harmless.
    recipient = EmailRecipientFactory()
    record = {"key": new_hit_key(), "recipient": recipient.pk, "at": T0.isoformat()}
    assert spool.append(record=record) and spool.append(record=record)

    assert replay_spool() == 1
    assert spool.append(record=record)
    assert replay_spool() == 0

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 1


def test_the_spool_is_bounded(settings, caplog):
    recipient = EmailRecipientFactory()
    settings.REDIS_URL = ""
    settings.OPEN_SPOOL_MAX_BYTES = 500
    with database_refusing_writes(), caplog.at_level(logging.WARNING, logger="tracking"):
        paths = [record_open_at(recipient, minute) for minute in range(10)]

    assert "spool" in paths and paths[-1] == "lost"
    assert spool.size() <= 500
    assert sum("spool is full" in r.getMessage() for r in caplog.records) == 1


def test_unreadable_spool_lines_are_dropped_and_said(settings, caplog):
    recipient = EmailRecipientFactory()
    folder = settings.OPEN_SPOOL_DIR
    folder.mkdir(parents=True)
    good = f'{{"key":"{new_hit_key()}","recipient":{recipient.pk},"at":"{T0.isoformat()}"}}'
    # A verdict the signals cannot give, and a recipient that is no number.
    bogus = f'{{"key":"{new_hit_key()}","recipient":{recipient.pk},"at":"{T0.isoformat()}","v":"bogus"}}'
    no_number = f'{{"key":"{new_hit_key()}","recipient":"x","at":"{T0.isoformat()}"}}'
    (folder / "opens.jsonl").write_text(f'{good}\nnot json\n{{"key": 1}}\n{bogus}\n{no_number}\n')

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert replay_spool() == 1

    assert caplog.text.count("Dropping unreadable open spool line") == 4
    assert spool.count() == 0


def record_open_at(recipient, minute: int) -> str:
    return intake.record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(minutes=minute))
