"""Demo data to log in with. Safe to run again: it only adds what is missing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from contacts.models import Contact, ContactActivity
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


class Command(BaseCommand):
    help = "Create the demo organizations, users and contacts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
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


def _domain(org_name: str) -> str:
    return org_name.split()[0].lower() + ".example"
