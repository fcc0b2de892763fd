"""How fast the IMAP sync reads a mailbox, and what a sync with nothing new costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage \\
    .venv/bin/python bench/imap_sync.py [messages]

Starts a throwaway Dovecot (emails/tests/dovecot.py) and a throwaway
database (bench_<name>, dropped at the end). For each size (a tenth of the
messages, then all of them) it fills INBOX and Sent (70/30; one message in
five from or to one of 200 contacts, the rest newsletters and strangers),
then times the first sync (messages/s read), a second sync with nothing new
and a third with one new message. The second sync's cost must not grow with
the mailbox: it is one SELECT per folder.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

from emails.tests import dovecot  # noqa: E402
from emails.tests.imap_messages import raw_message  # noqa: E402

CONTACTS = 200
APPEND_BATCH = 500


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = f"bench_{database['NAME']}"
    settings.MAILBOX_ALLOWED_HOSTS = ["127.0.0.0/8"]
    settings.DEBUG = True  # count queries
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        heads = ("messages", "imported", "first sync", "msg/s", "nothing new", "queries", "one new")
        print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (9, 9, 11, 7, 12, 8, 8), strict=True)))
        for size in (total // 10, total):
            run(size)
    finally:
        teardown_databases(databases, verbosity=0)


def fill(server, size: int) -> None:
    sent_count = size * 3 // 10
    with server.client("rex") as client:
        for folder, count in (("INBOX", size - sent_count), ("Sent", sent_count)):
            batch = []
            for n in range(count):
                batch.append(_message(folder, n))
                if len(batch) == APPEND_BATCH:
                    client.multiappend(folder, batch)
                    batch = []
            if batch:
                client.multiappend(folder, batch)


def _message(folder: str, n: int) -> bytes:
    contact = f"c{n % CONTACTS}@client.example" if n % 5 == 0 else f"x{n}@news.example"
    if folder == "Sent":
        return raw_message(sender="rex@acme.example", to=[contact], message_id=f"<s{n}@acme.example>", body="x" * 400)
    return raw_message(sender=contact, to=["rex@acme.example"], message_id=f"<i{n}@ex>", body="y" * 400)


def run(size: int) -> None:
    from contacts.tests.factories import ContactFactory
    from emails.models import Email
    from emails.sync.mailbox_sync import sync_mailbox
    from emails.tests.factories import MailboxFactory, connect_imap
    from onepage.tests.factories import MembershipFactory, OrganizationFactory

    server = dovecot.start()
    try:
        fill(server, size)
        org = OrganizationFactory()
        user = MembershipFactory(organization=org).user
        for n in range(CONTACTS):
            ContactFactory(organization=org, email=f"c{n}@client.example")
        mailbox = connect_imap(MailboxFactory(user=user, organization=org, from_address="rex@acme.example"), server)

        started = time.perf_counter()
        imported = sync_mailbox(mailbox_id=mailbox.pk).imported
        first = time.perf_counter() - started

        reset_queries()
        started = time.perf_counter()
        assert sync_mailbox(mailbox_id=mailbox.pk).imported == 0
        nothing_new = time.perf_counter() - started
        queries = len(connection.queries)

        with server.client("rex") as client:
            client.append(
                "INBOX", raw_message(sender="c1@client.example", to=["rex@acme.example"], message_id="<new@ex>")
            )
        started = time.perf_counter()
        assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1
        one_new = time.perf_counter() - started
        assert Email.objects.filter(organization=org).count() == imported + 1
        print(
            f"{size:>9} {imported:>9} {first:>10.2f}s {size / first:>7.0f} "
            f"{nothing_new * 1000:>10.1f}ms {queries:>8} {one_new * 1000:>6.1f}ms"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
