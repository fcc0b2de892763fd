"""Run in a subprocess against the fault suite's own database: creates
tracked emails on a Business organization and prints their recipients' ids
as JSON. Usage: python tests/faults/seed.py EMAILS RECIPIENTS_PER_EMAIL"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from contacts.tests.factories import ContactFactory  # noqa: E402
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory  # noqa: E402
from onepage.tests.factories import OrganizationFactory, UserFactory  # noqa: E402

emails, per_email = int(sys.argv[1]), int(sys.argv[2])
# Each run of this script starts its factories' sequences afresh: start them
# past those of earlier runs against the same database.
offset = time.time_ns() // 1000
for factory in (UserFactory, OrganizationFactory, ContactFactory, EmailFactory):
    factory.reset_sequence(offset)
organization = OrganizationFactory()
EmailConfigurationFactory(organization=organization, allow_open_tracking=True)
ids = []
for _ in range(emails):
    email = EmailFactory(organization=organization)
    ids += [r.pk for r in EmailRecipientFactory.create_batch(per_email, email=email)]
print(json.dumps(ids))
