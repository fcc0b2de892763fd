"""The one way a view reaches contacts: scoped to the signed-in user's
organization. Another organization's id is a 404, never a hint that it
exists (contacts' pages, the composer, privacy's pages)."""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from onepage.models import Organization

from .models import Contact


def contacts_for(request: HttpRequest) -> QuerySet[Contact]:
    return Contact.objects.filter(organization=request.organization)


def get_contact_for_user(request: HttpRequest, pk: int | str) -> Contact:
    """The contact `pk` (an int, or digits from a query string) of the
    request's organization, or a 404."""
    if isinstance(pk, str) and not (pk.isascii() and pk.isdigit()):
        raise Http404("No such contact.")
    return get_object_or_404(contacts_for(request), pk=int(pk))


def contacts_by_address(organization: Organization, addresses: Iterable[str]) -> dict[str, Contact]:
    """The organization's contacts with these addresses, by lowercased address,
    in one query (an address is one contact's, case-insensitively)."""
    lowered = {a.lower() for a in addresses}
    contacts = Contact.objects.annotate(email_lower=Lower("email")).filter(
        organization=organization, email_lower__in=lowered
    )
    return {c.email_lower: c for c in contacts}
