"""Everything OnePage holds about one contact, as one JSON document (an
admin's export, for a person's request for their data): the contact's
fields, its activity, its consent history, the emails it received with its
recipient rows and opens, and the emails synced from it. A fixed number of
queries whatever the contact's history; the emails part comes from
emails.selectors (contacts imports no other part of emails or tracking)."""

from typing import Any

from django.db import models
from django.utils import timezone

from emails import selectors

from .models import Contact

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
        **selectors.contact_export_emails(contact, fields_of=fields_of),
    }


def _who(user) -> str | None:
    return user.display_name if user else None
