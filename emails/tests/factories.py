import factory
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from emails import crypto, rollup
from emails.models import Email, EmailConfiguration, EmailRecipient, Mailbox
from onepage.tests.factories import MembershipFactory, OrganizationFactory, UserFactory


class MailboxFactory(factory.django.DjangoModelFactory):
    """A development mailbox by default; pass kind="smtp" and smtp_* for a real one."""

    class Meta:
        model = Mailbox

    user = factory.SubFactory(UserFactory)
    organization = factory.LazyAttribute(lambda m: m.user.membership.organization)
    kind = Mailbox.Kind.DEVELOPMENT
    from_name = factory.LazyAttribute(lambda m: m.user.get_full_name())
    from_address = factory.LazyAttribute(lambda m: m.user.email or f"{m.user.username}@example.com")


class SMTPMailboxFactory(MailboxFactory):
    """A mailbox that sends to a real SMTP server: pass `server=smtp_server`
    (the conftest fixture)."""

    class Params:
        server = None

    kind = Mailbox.Kind.SMTP
    smtp_host = factory.LazyAttribute(lambda m: m.server.host)
    smtp_port = factory.LazyAttribute(lambda m: m.server.port)
    security = Mailbox.Security.NONE


class EmailConfigurationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailConfiguration
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    allow_open_tracking = True


class EmailFactory(factory.django.DjangoModelFactory):
    """A sent email; its sender is a member of its organization."""

    class Meta:
        model = Email

    organization = factory.SubFactory(OrganizationFactory)
    sender = factory.LazyAttribute(lambda e: MembershipFactory(organization=e.organization).user)
    subject = factory.Sequence(lambda n: f"Proposal #{n}")
    body_text = "Hello,\n\nHere is our proposal.\n\nBest"
    status = Email.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)
    track_opens = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Made sent: counted in the team's rollup as the send would have.
        email = super()._create(model_class, *args, **kwargs)
        rollup.created([email.pk])
        return email


class EmailRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailRecipient

    email = factory.SubFactory(EmailFactory)
    kind = EmailRecipient.Kind.TO
    contact = factory.SubFactory(ContactFactory, organization=factory.SelfAttribute("..email.organization"))
    address = factory.LazyAttribute(lambda r: r.contact.email if r.contact else "someone@example.net")
    track_opens = factory.LazyAttribute(lambda r: r.email.track_opens)


def connect_imap(mailbox: Mailbox, server, *, user: str = "rex", password: str | None = None) -> Mailbox:
    """Point a mailbox's IMAP settings at the test Dovecot (`imap_server`)."""
    mailbox.imap_host, mailbox.imap_port = server.host, server.port
    mailbox.imap_security = Mailbox.Security.NONE
    mailbox.imap_username = user
    mailbox.imap_password_encrypted = crypto.encrypt(server.users[user] if password is None else password)
    mailbox.save()
    return mailbox
