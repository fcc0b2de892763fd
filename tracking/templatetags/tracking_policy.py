from django import template

from contacts.models import Contact
from tracking.policy import Decision, contact_decision, email_configuration

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_tracking(context: template.Context, contact: Contact) -> Decision:
    """Whether the contact's privacy state lets emails to them be tracked:
    `{% contact_tracking contact as decision %}`. Reuses request.email_config."""
    request = context.get("request")
    config = getattr(request, "email_config", None) or email_configuration(contact.organization)
    return contact_decision(contact=contact, config=config)
