"""Who may do what inside one organization: each role rule, written once.

Another organization's objects never get this far: the views' lookups
(`contacts.access.get_contact_for_user`, emails' `_get_email_for_user`) answer
them with a 404 first. What is left is the organization's own, and:

- every member sees all of it, read-only: contacts, and every teammate's
  emails with their open reports (a contact's Email tab shows them all);
- what changes the whole organization, or cannot be undone for the whole
  team, is for admins: the organization's settings, erasing a contact,
  exporting a contact's data;
- what goes out from a mailbox is for the mailbox's owner only: nobody sends
  as someone else, an admin included (`emails.access.may_send_as`).

The README's role matrix says the same; onepage/tests/test_role_matrix.py
walks it over every URL."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Membership, Organization, User


def is_admin(membership: Membership | None) -> bool:
    return membership is not None and membership.is_admin


def may_change_settings(membership: Membership | None) -> bool:
    """The organization's settings: plan, email configuration, System."""
    return is_admin(membership)


def may_erase_contacts(membership: Membership | None) -> bool:
    """Erasing is irreversible and loses the lead's history for the whole team."""
    return is_admin(membership)


def may_export_contacts(membership: Membership | None) -> bool:
    """Everything held about a person, in one file."""
    return is_admin(membership)


def may_see_teammates_emails(membership: Membership | None) -> bool:
    """Read-only, as the contact's Email tab shows them."""
    return membership is not None


def may_see_everyones_activity(membership: Membership | None) -> bool:
    """The activity feed's Everyone: the whole team's opens at once (each
    member's feed is their own emails' opens)."""
    return is_admin(membership)


# For templates: {% load permissions %}{% if request.membership|may:"erase_contacts" %}
RULES = {
    "change_settings": may_change_settings,
    "erase_contacts": may_erase_contacts,
    "export_contacts": may_export_contacts,
    "see_teammates_emails": may_see_teammates_emails,
    "see_everyones_activity": may_see_everyones_activity,
}


def admins_of(organization: Organization) -> list[User]:
    """Whom a rep can ask."""
    return list(
        User.objects.filter(membership__organization=organization, membership__role=Membership.Role.ADMIN).order_by(
            "first_name", "last_name", "pk"
        )
    )


def admins_only(request: HttpRequest, *, reason: str = "", back_url: str = "") -> HttpResponse:
    """The refusal a rep gets for an admin's action: a 403 page in words,
    naming the admins to ask."""
    context = {"reason": reason, "back_url": back_url, "admins": admins_of(request.organization)}
    return render(request, "onepage/admin_only.html", context, status=403)
