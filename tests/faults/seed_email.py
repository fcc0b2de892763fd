"""Run in a subprocess against the fault suite's own database and Redis:
composes a tracked email from a rep whose mailbox is the suite's SMTP sink,
as the composer does (the send task is queued on commit), and prints its id.
Usage: python tests/faults/seed_email.py SMTP_PORT RECIPIENTS"""

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from contacts.tests.factories import ContactFactory  # noqa: E402
from emails.services import email_create  # noqa: E402
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, SMTPMailboxFactory  # noqa: E402
from onepage.tests.factories import MembershipFactory, OrganizationFactory, UserFactory  # noqa: E402

port, recipients = int(sys.argv[1]), int(sys.argv[2])
offset = time.time_ns() // 1000
for factory in (UserFactory, OrganizationFactory, ContactFactory, EmailFactory):
    factory.reset_sequence(offset)
with transaction.atomic():
    organization = OrganizationFactory()
    EmailConfigurationFactory(organization=organization, allow_open_tracking=True)
    rep = MembershipFactory(organization=organization, role="rep").user
    SMTPMailboxFactory(user=rep, server=SimpleNamespace(host="127.0.0.1", port=port), from_address="rep@acme.example")
    email = email_create(
        organization=organization,
        sender=rep,
        subject="Fault suite",
        body_text="Hello",
        to=[f"r{n}-{offset}@sink.example" for n in range(recipients)],
    )
print(email.pk)
