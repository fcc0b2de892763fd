"""Sending while Redis (the Celery broker) is down: the rep sees "Queued",
never an error page, and the email waits for the sweep."""

import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from emails.models import Email, EmailConfiguration
from emails.tests.factories import MailboxFactory
from onepage.tests.factories import MembershipFactory

call_command("migrate", verbosity=0)
rep = MembershipFactory(user__username="rex").user
EmailConfiguration.objects.of(rep.membership.organization)
MailboxFactory(user=rep)
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(rep)
response = client.post("/email/compose/", {"to": "ann@ex.org", "subject": "Hi", "body": "Hello"}, follow=True)
email = Email.objects.get()
print(response.status_code, email.status, "Queued for sending." in response.content.decode())
"""


def test_sending_while_the_broker_is_down_queues_the_email_and_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="onepage.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens there
        CELERY_TASK_ALWAYS_EAGER="false",
        DEV_OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["200", "queued", "True"]
    assert "Could not queue email" in result.stderr  # one warning, the sweep takes it from there
