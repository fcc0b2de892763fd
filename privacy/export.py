"""Everything OnePage holds about one contact, as one JSON document (an
admin's export, for a person's request for their data): the contact's
fields, its activity, its consent history, the emails it received with its
recipient rows and opens, and the emails synced from it. A fixed number of
queries whatever the contact's history: the contact's rows come from
emails.selectors.contact_rows, their opens from tracking's OpenEvent, what
the senders were told of those opens from alerts' Notification."""

from typing import Any

from django.db import models
from django.utils import timezone

from alerts.models import Notification
from contacts.models import Contact
from emails.models import EmailRecipient
from emails.selectors import contact_rows
from tracking.models import OpenEvent

FORMAT = "onepage-contact-export/1"


def _value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "code"):  # a django_countries Country
        return value.code or ""
    return value


def fields_of(row: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every stored column of a row, by name (foreign keys as ids)."""
    return {f.attname: _value(getattr(row, f.attname)) for f in row._meta.concrete_fields if f.attname not in exclude}


def contact_export(contact: Contact) -> dict[str, Any]:
    activities = contact.activities.select_related("actor").order_by("at", "pk")
    records = contact.consent_records.select_related("actor").order_by("at", "pk")
    return {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "contact": fields_of(contact),
        "activities": [
            {**fields_of(a, exclude=("contact_id",)), "kind_label": a.get_kind_display(), "actor": _who(a.actor)}
            for a in activities
        ],
        "consent_records": [
            {**fields_of(r, exclude=("contact_id",)), "method_label": r.get_method_display(), "who": r.who}
            for r in records
        ],
        **_emails(contact),
    }


def _who(user) -> str | None:
    return user.display_name if user else None


def _emails(contact: Contact) -> dict[str, list[dict[str, Any]]]:
    """Every recipient row about the contact with its email, its opens and
    the notifications about them (each with every field it has), split into
    the emails it received and those synced from it. Three queries."""
    rows = list(contact_rows(contact).select_related("email").order_by("email__created_at", "email_id", "pk"))
    opens: dict[int, list[OpenEvent]] = {}
    for event in OpenEvent.objects.filter(recipient__in=[row.pk for row in rows]).order_by("-opened_at", "-pk"):
        opens.setdefault(event.recipient_id, []).append(event)
    notifications: dict[int, list[dict[str, Any]]] = {}
    for n in Notification.objects.filter(recipient__in=[row.pk for row in rows]).select_related("user"):
        item = fields_of(n, exclude=("recipient_id", "email_id", "user_id", "organization_id", "open_id"))
        notifications.setdefault(n.recipient_id, []).append({**item, "user": _who(n.user)})
    received, sent_by_it = [], []
    for row in rows:
        email = row.email
        item = {
            "email": {
                "id": email.pk,
                "subject": email.subject,
                "direction": email.direction,
                "source": email.source,
                "status": email.status,
                "from_address": email.from_address,
                "created_at": email.created_at.isoformat(),
                "sent_at": email.sent_at.isoformat() if email.sent_at else None,
                "track_opens": email.track_opens,
            },
            "recipient": {
                **fields_of(row, exclude=("email_id", "contact_id")),
                "tracking_mode": row.tracking_mode,
            },
            "opens": [fields_of(o, exclude=("recipient_id", "email_id")) for o in opens.get(row.pk, [])],
            "notifications": notifications.get(row.pk, []),
        }
        if row.kind == EmailRecipient.Kind.FROM:
            item["email"]["body_text"] = email.body_text  # the contact's own words
            sent_by_it.append(item)
        else:
            received.append(item)
    return {"emails_received": received, "emails_from_contact": sent_by_it}
