"""The open reports that emails' pages show (the eye, the counts, each
recipient's recent opens) are built by tracking (tracking.reports), which
sits above emails: TrackingConfig.ready plugs its builder in here, the way
each app plugs its checks into onepage.health. Emails' pages load the
recipients to report on (`recipients_prefetch`) and ask for the reports of a
whole page at once (`attach_open_reports`), never one query per row."""

from collections.abc import Callable, Sequence

from django.db.models import Prefetch

from .models import Email, EmailRecipient

# What a list of emails loads with them (select_related) so that their
# reports need no query for the organization's "Count automatic fetches as opens".
CONFIGURATION = "organization__email_configuration"

Builder = Callable[..., None]
_builder: list[Builder] = []


def provide(builder: Builder) -> None:
    """Called once by tracking at start-up: builder(emails, *, per_contact, recent)."""
    _builder[:] = [builder]


def recipients_prefetch(*, contact_id: int | None = None, to_attr: str = "report_recipients") -> Prefetch:
    """The recipients a report shows (all, or one contact's), with their contacts."""
    recipients = EmailRecipient.objects.select_related("contact").order_by("pk")
    if contact_id is not None:
        recipients = recipients.filter(contact_id=contact_id)
    return Prefetch("recipients", queryset=recipients, to_attr=to_attr)


def attach_open_reports(emails: Sequence[Email], *, per_contact: bool = False, recent: bool = True) -> None:
    """Set `email.open_report` on each email (loaded with recipients_prefetch):
    one query for all their recent opens, none with recent=False. per_contact:
    the prefetch was limited to one contact, and the summary is that contact's."""
    (builder,) = _builder
    builder(emails, per_contact=per_contact, recent=recent)
