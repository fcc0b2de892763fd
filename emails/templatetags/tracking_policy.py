from django import template

from contacts.models import Contact
from emails.models import EmailConfiguration

from ..policy import Decision, contact_decision

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_tracking(context: template.Context, contact: Contact) -> Decision:
    """Whether the contact's privacy state lets emails to them be tracked:
    `{% contact_tracking contact as decision %}`. The request's organization
    (the contact's, in views that scope their lookups) keeps the configuration
    once loaded."""
    request = context.get("request")
    organization = getattr(request, "organization", None)
    if organization is None or organization.pk != contact.organization_id:
        organization = contact.organization
    return contact_decision(contact=contact, config=EmailConfiguration.objects.of(organization))
