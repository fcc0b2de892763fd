"""`{{ request.membership|may:"erase_contacts" }}`: the role rules of
onepage.permissions, for templates (which show a button or say who can)."""

from django import template

from onepage.models import Membership
from onepage.permissions import RULES

register = template.Library()


@register.filter
def may(membership: Membership | None, rule: str) -> bool:
    return RULES[rule](membership)
