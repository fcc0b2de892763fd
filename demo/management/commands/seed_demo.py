"""Demo data to sign in with, showing the product at its best: contacts
created weeks ago, emails sent over the last days with opens spread across
them (one report past ten opens), a contact who refused tracking, emails from
the reps' own mail clients, and a Professional organization that left the
Business plan with its opens from before. Safe to run again: it only adds
what is missing. Development only."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, ContactActivity
from emails import policy, rollup
from emails.mailboxes import mailbox_connect
from emails.models import Email, EmailConfiguration, EmailRecipient, Mailbox, NotTrackedReason
from emails.rendering import body_to_html
from onepage.models import Membership, Organization, SettingChange, User
from onepage.services import organization_plan_change
from tracking.classify import Signals
from tracking.hits import Open
from tracking.writer import write_opens

# What Apple Mail Privacy Protection's fetch looks like (tracking.classify).
APPLE = Signals(address="17.58.63.74", user_agent="Mozilla/5.0")

DEMO_PASSWORD = "onepage-demo"

# (username, first name, last name, organization, role)
DEMO_USERS = [
    ("ada", "Ada", "Admin", "Acme Widgets", Membership.Role.ADMIN),
    ("rex", "Rex", "Rep", "Acme Widgets", Membership.Role.REP),
    ("pat", "Pat", "Pro", "Pro Plumbing", Membership.Role.ADMIN),
]
# Pro Plumbing starts on Business and moves to Professional (its history).
DEMO_ORGS = {"Acme Widgets": "Europe/Dublin", "Pro Plumbing": "America/New_York"}

FIRST = ["Aoife", "Bruno", "Chloé", "Dmitri", "Elena", "Finn", "Greta", "Hiro", "Isla", "Jonas", "Kai", "Lena"]
LAST = ["Murphy", "Rossi", "Dubois", "Ivanov", "García", "Larsen", "Schmidt", "Tanaka", "Walsh"]
COMPANIES = ["Brightline", "Northwind", "Bluepeak", "Greenfield", "Harbor & Co", "Kestrel Labs"]
COUNTRIES = ["IE", "IT", "FR", "US", "ES", "DK", "DE", "JP", "GB", "CA", "AU", ""]
# Addresses are ASCII: the address check (Django's) refuses accented local parts.
ASCII = str.maketrans("éíá", "eia")
REFUSED_CONTACT = 5  # Finn, who said no to open tracking
CONTACTS_SINCE = dt.timedelta(days=45)

# Emails that reached the CRM from the senders' own mail clients (never tracked):
# (sender, recipient contact index, subject, days ago).
CLIENT_EMAILS = [
    ("rex", 3, "Re: pricing for the spring order", 2),
    ("rex", 9, "Thanks for the call today", 5),
    ("ada", 0, "Notes from Tuesday's meeting", 9),
    ("pat", 1, "Your quote for the boiler service", 3),
]
# Emails sent from OnePage: (sender, contact index, subject, days ago, opens as hours after sending).
# An empty list of opens: not opened yet. None: sent with Track off.
CRM_EMAILS = [
    ("rex", 3, "Spring order: the prices we discussed", 6, [1, 2, 5, 26, 27, 30, 49, 50, 73, 74, 75, 98, 120, 121]),
    ("rex", 0, "Proposal for Brightline", 4, [0.2, 3, 22]),
    ("rex", 6, "Following up on the demo", 3, [5]),
    ("rex", 9, "Samples are on their way", 2, []),
    ("rex", REFUSED_CONTACT, "Your renewal", 2, []),
    ("rex", 12, "Catalogue 2027", 1, [0.5, 0.6]),
    ("rex", 1, "Meeting next week", 1, []),  # Bruno, in Italy, has not said yes: the EU rule
    ("ada", 7, "Partnership terms", 5, [2, 30]),
    ("ada", 4, "Invoice questions", 1, None),
    ("pat", 0, "Boiler service plans", 30, [1, 4, 50]),
    ("pat", 3, "Spring maintenance offer", 25, [2]),
]
# The contacts who replied (as the mailbox sync would record it), hours after the send.
REPLIED = {"Proposal for Brightline": 23, "Partnership terms": 31}
DOWNGRADED_DAYS_AGO = 20


class Command(BaseCommand):
    help = "Create the demo organizations, users, contacts, emails and opens (idempotent; DEBUG only)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # Known sign-ins with a published password: never in production.
            raise CommandError(
                "seed_demo creates demo users with a published password: it only runs with DEBUG on. "
                "To start a real organization, use: manage.py create_organization."
            )
        now = timezone.now()
        orgs = {
            name: Organization.objects.get_or_create(
                name=name, defaults={"plan": Organization.Plan.BUSINESS, "time_zone": tz}
            )[0]
            for name, tz in DEMO_ORGS.items()
        }
        users = {
            username: self._user(username, first, last, orgs[org], role)
            for username, first, last, org, role in DEMO_USERS
        }
        self._contacts(orgs["Acme Widgets"], users["ada"], count=36, now=now)
        self._contacts(orgs["Pro Plumbing"], users["pat"], count=8, now=now)
        self._client_emails(users, now=now)
        # Ada's mailbox is Acme's first: it switches Allow open tracking on, logged.
        self._development_mailboxes([users["ada"], users["rex"]])
        self._crm_emails(users, now=now)
        self._downgrade(orgs["Pro Plumbing"], users["pat"], now=now)
        # The demo writes its sent emails and replies directly: the team's weeks from them.
        rollup.rebuild(organization_ids=[org.pk for org in orgs.values()])
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready. Sign in as ada, rex or pat with password {DEMO_PASSWORD!r}.")
        )

    def _user(self, username: str, first: str, last: str, org: Organization, role: str) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@{_domain(org.name)}"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, defaults={"organization": org, "role": role})
        return user

    def _contacts(self, org: Organization, actor: User, *, count: int, now: dt.datetime) -> None:
        for i in range(count):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 5) % len(LAST)]
            local = f"{first.lower()}.{last.lower()}{i}".translate(ASCII)
            email = f"{local}@{COMPANIES[i % len(COMPANIES)].split()[0].lower()}.example"
            if i == REFUSED_CONTACT:
                choice = Contact.OpenTracking.REFUSED
            else:
                choice = Contact.OpenTracking.ALLOWED if i % 3 == 0 else Contact.OpenTracking.NOT_ASKED
            contact, created = Contact.objects.get_or_create(
                organization=org,
                email=email,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "company": COMPANIES[i % len(COMPANIES)],
                    "country": COUNTRIES[i % len(COUNTRIES)],
                    "phone": f"+353 1 555 {1000 + i}",
                    "open_tracking": choice,
                },
            )
            if created:
                # Added weeks ago, before any email to them.
                added = now - CONTACTS_SINCE + dt.timedelta(hours=i)
                Contact.objects.filter(pk=contact.pk).update(created_at=added)
                ContactActivity.objects.create(
                    contact=contact, kind=ContactActivity.Kind.CREATED, actor=actor, at=added
                )

    def _client_emails(self, users: dict[str, User], *, now: dt.datetime) -> None:
        for username, contact_index, subject, days_ago in CLIENT_EMAILS:
            sender = users[username]
            org = sender.membership.organization
            contact = org.contacts.order_by("pk")[contact_index]
            sent_at = now - dt.timedelta(days=days_ago, hours=contact_index)
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
                Email.objects.filter(pk=email.pk).update(created_at=sent_at)
                EmailRecipient.objects.create(
                    email=email,
                    address=contact.email,
                    contact=contact,
                    track_opens=False,
                    not_tracked_reason=NotTrackedReason.CLIENT,
                    delivered_at=sent_at,
                )

    def _crm_emails(self, users: dict[str, User], *, now: dt.datetime) -> None:
        """Sent emails as the composer and the send task leave them, and their
        opens through the recording pipeline's own writer."""
        for username, contact_index, subject, days_ago, opens in CRM_EMAILS:
            sender = users[username]
            org = sender.membership.organization
            if Email.objects.filter(organization=org, source=Email.Source.CRM, subject=subject).exists():
                continue
            contact = org.contacts.order_by("pk")[contact_index]
            sent_at = now - dt.timedelta(days=days_ago, hours=contact_index % 5)
            # The contact's own choice and the EU rule, as the policy decides them.
            decision = policy.contact_decision(contact=contact, config=EmailConfiguration.objects.of(org))
            reason = NotTrackedReason.TOGGLE_OFF if opens is None else decision.reason
            body = f"Hi {contact.first_name},\n\nHere is what we talked about.\n\nBest,\n{sender.first_name}"
            email = Email.objects.create(
                organization=org, sender=sender, subject=subject, body_text=body, body_html=body_to_html(body),
                status=Email.Status.SENT, sent_at=sent_at, attempts=1,
                track_opens=not reason, not_tracked_reason=reason,
            )  # fmt: skip
            Email.objects.filter(pk=email.pk).update(created_at=sent_at)
            recipient = EmailRecipient.objects.create(
                email=email, address=contact.email, contact=contact, delivered_at=sent_at,
                track_opens=email.track_opens, not_tracked_reason=reason,
            )  # fmt: skip
            times = [sent_at + dt.timedelta(hours=h) for h in opens or ()] if email.track_opens else []
            people = [Open(recipient_id=recipient.pk, opened_at=at) for at in times if at < now]
            # Every third tracked email is fetched by Apple's privacy protection
            # on delivery: an automatic fetch, kept apart from the opens.
            machine = [Open(recipient_id=recipient.pk, opened_at=sent_at + dt.timedelta(seconds=1), signals=APPLE)]
            write_opens(opens=people + (machine if email.track_opens and contact_index % 3 == 0 else []))
            if subject in REPLIED:
                replied_at = sent_at + dt.timedelta(hours=REPLIED[subject])
                Email.objects.filter(pk=email.pk).update(replied_at=replied_at)
                EmailRecipient.objects.filter(pk=recipient.pk).update(replied_at=replied_at)

    def _downgrade(self, org: Organization, admin: User, *, now: dt.datetime) -> None:
        """Pro Plumbing left Business: new emails untracked, earlier opens kept."""
        if org.plan == Organization.Plan.PROFESSIONAL:
            return
        change = organization_plan_change(organization=org, actor=admin, plan=Organization.Plan.PROFESSIONAL)
        SettingChange.objects.filter(pk=change.pk).update(at=now - dt.timedelta(days=DOWNGRADED_DAYS_AGO))

    def _development_mailboxes(self, users: list[User]) -> None:
        # Through the service, as a user would.
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
