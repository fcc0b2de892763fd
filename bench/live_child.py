"""The Django side of bench/live_channel.py, run in a child process with the
bench's environment (its throwaway database, its Redis):

    live_child.py seed N      -> JSON: N signed-in reps, each with a session
                                 and a recipient of an email they sent
    live_child.py opens       -> reads recipient ids on stdin, one a line;
                                 records one open of each through the
                                 recorder's writer (tracking.writer), which
                                 makes its notification after the commit
                                 (alerts.creation.notify) and publishes the
                                 sender's new count (alerts.live); prints,
                                 per open, the monotonic time of its commit
"""

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from contacts.models import Contact  # noqa: E402
from emails.models import Email, EmailRecipient  # noqa: E402
from onepage.models import Membership, Organization, User  # noqa: E402
from tracking.hits import Open, new_hit_key  # noqa: E402
from tracking.writer import write_opens  # noqa: E402


def seed(n: int) -> list[dict]:
    """N reps of one organization; each sent one tracked email to one named
    contact, delivered 5 days ago (an open now is a person's first open)."""
    org = Organization.objects.create(name="Bench: live channel", plan=Organization.Plan.BUSINESS, time_zone="UTC")
    users = User.objects.bulk_create(
        # An unusable password: no hashing (the session proves who they are).
        User(username=f"bench-live-{k}", email=f"bench-live-{k}@example.com", password=f"!bench{k}")
        for k in range(n)
    )
    Membership.objects.bulk_create(Membership(user=u, organization=org, role=Membership.Role.REP) for u in users)
    now = timezone.now()
    emails = Email.objects.bulk_create(
        Email(organization=org, sender=u, subject=f"Bench offer {k}", body_text="Hello", status=Email.Status.SENT,
              sent_at=now - timedelta(days=5), track_opens=True)
        for k, u in enumerate(users)
    )  # fmt: skip
    contacts = Contact.objects.bulk_create(
        Contact(organization=org, first_name="Bea", last_name=f"Buyer {k}", email=f"bea{k}@buyer.example", country="US")
        for k in range(n)
    )
    recipients = EmailRecipient.objects.bulk_create(
        EmailRecipient(email=e, contact=c, address=c.email, kind=EmailRecipient.Kind.TO, track_opens=True,
                       delivered_at=now - timedelta(days=5))
        for e, c in zip(emails, contacts, strict=True)
    )  # fmt: skip
    out = []
    for user, recipient in zip(users, recipients, strict=True):
        session = SessionStore()
        session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out.append({"user": user.pk, "session": session.session_key, "recipient": recipient.pk})
    return out


def opens() -> None:
    for line in sys.stdin:
        recipient_id = int(line)
        began, committed = time.monotonic(), []
        with transaction.atomic():
            # Runs first after the commit, before notify and publish: the
            # moment the open is recorded.
            transaction.on_commit(lambda c=committed: c.append(time.monotonic()))
            write_opens(opens=[Open(recipient_id=recipient_id, opened_at=timezone.now(), key=new_hit_key())])
        print(json.dumps({"recipient": recipient_id, "committed": committed[0], "write": committed[0] - began}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        print(json.dumps(seed(int(sys.argv[2]))))
    elif sys.argv[1] == "opens":
        opens()
