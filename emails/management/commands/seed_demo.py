"""Demo data to log in with. Safe to run again: it only adds what is missing."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, ContactActivity
from emails.mailboxes import mailbox_connect
from emails.models import Email, EmailRecipient, Mailbox, NotTrackedReason
from onepage.models import Membership, Organization, User

DEMO_PASSWORD = "onepage-demo"

# (username, first name, last name, organization, role)
DEMO_USERS = [
    ("ada", "Ada", "Admin", "Acme Widgets", Membership.Role.ADMIN),
    ("rex", "Rex", "Rep", "Acme Widgets", Membership.Role.REP),
    ("pat", "Pat", "Pro", "Pro Plumbing", Membership.Role.ADMIN),
]
DEMO_ORGS = {
    "Acme Widgets": (Organization.Plan.BUSINESS, "Europe/Dublin"),
    "Pro Plumbing": (Organization.Plan.PROFESSIONAL, "America/New_York"),
}

FIRST = ["Aoife", "Bruno", "Chloé", "Dmitri", "Elena", "Finn", "Greta", "Hiro", "Isla", "Jonas", "Kai", "Lena"]
LAST = ["Murphy", "Rossi", "Dubois", "Ivanov", "García", "Larsen", "Schmidt", "Tanaka", "Walsh"]
COMPANIES = ["Brightline", "Northwind", "Bluepeak", "Greenfield", "Harbor & Co", "Kestrel Labs"]
COUNTRIES = ["IE", "IT", "FR", "US", "ES", "DK", "DE", "JP", "GB", "CA", "AU", ""]

# Emails that reached the CRM from the senders' own mail clients (never tracked):
# (sender, recipient contact index, subject, days ago).
CLIENT_EMAILS = [
    ("rex", 3, "Re: pricing for the spring order", 2),
    ("rex", 9, "Thanks for the call today", 5),
    ("ada", 0, "Notes from Tuesday's meeting", 9),
    ("pat", 1, "Your quote for the boiler service", 3),
]


class Command(BaseCommand):
    help = "Create the demo organizations, users and contacts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # Known sign-ins with a published password: never in production.
            raise CommandError(
                "seed_demo creates demo users with a published password: it only runs with DEBUG on. "
                "To start a real organization, use: manage.py create_organization."
            )
        orgs = {}
        for name, (plan, tz) in DEMO_ORGS.items():
            orgs[name], _ = Organization.objects.get_or_create(name=name, defaults={"plan": plan, "time_zone": tz})
        users = {}
        for username, first, last, org_name, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@{_domain(org_name)}"},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            Membership.objects.get_or_create(user=user, defaults={"organization": orgs[org_name], "role": role})
            users[username] = user

        self._contacts(orgs["Acme Widgets"], users["ada"], count=36)
        self._contacts(orgs["Pro Plumbing"], users["pat"], count=8)
        self._client_emails(users)
        self._development_mailboxes([users["ada"], users["rex"]])
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready. Sign in as ada, rex or pat with password {DEMO_PASSWORD!r}.")
        )

    def _contacts(self, org: Organization, actor: User, *, count: int) -> None:
        for i in range(count):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 5) % len(LAST)]
            email = f"{first.lower()}.{last.lower()}{i}@{COMPANIES[i % len(COMPANIES)].split()[0].lower()}.example"
            contact, created = Contact.objects.get_or_create(
                organization=org,
                email=email,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "company": COMPANIES[i % len(COMPANIES)],
                    "country": COUNTRIES[i % len(COUNTRIES)],
                    "phone": f"+353 1 555 {1000 + i}",
                    "open_tracking": Contact.OpenTracking.ALLOWED if i % 3 == 0 else Contact.OpenTracking.NOT_ASKED,
                },
            )
            if created:
                ContactActivity.objects.create(
                    contact=contact, kind=ContactActivity.Kind.CREATED, actor=actor, at=contact.created_at
                )

    def _client_emails(self, users: dict[str, User]) -> None:
        for username, contact_index, subject, days_ago in CLIENT_EMAILS:
            sender = users[username]
            org = sender.membership.organization
            contact = org.contacts.order_by("pk")[contact_index]
            sent_at = timezone.now() - dt.timedelta(days=days_ago, hours=contact_index)
            email, created = Email.objects.get_or_create(
                organization=org,
                source=Email.Source.CLIENT,
                subject=subject,
                defaults={
                    "sender": sender,
                    "body_text": f"Hi {contact.first_name},\n\nAs promised, a quick follow-up.\n\n{sender.first_name}",
                    "status": Email.Status.SENT,
                    "sent_at": sent_at,
                    "track_opens": False,
                    "not_tracked_reason": NotTrackedReason.CLIENT,
                },
            )
            if created:
                EmailRecipient.objects.create(
                    email=email,
                    address=contact.email,
                    contact=contact,
                    track_opens=False,
                    not_tracked_reason=NotTrackedReason.CLIENT,
                    delivered_at=sent_at,
                )

    def _development_mailboxes(self, users: list[User]) -> None:
        # Through the service, as a user would: the first mailbox switches
        # Allow open tracking on for the organization and logs it.
        for user in users:
            if not Mailbox.objects.filter(user=user).exists():
                mailbox_connect(
                    user=user,
                    organization=user.membership.organization,
                    kind=Mailbox.Kind.DEVELOPMENT,
                    from_name=user.display_name,
                    from_address=user.email,
                )


def _domain(org_name: str) -> str:
    return org_name.split()[0].lower() + ".example"
