"""The recipient's own link to their open-tracking choice: a signed contact
id (onepage.signed_ids), like the pixel's token (emails.pixels) but with a
salt of its own, so that neither token opens the other's door."""

from django.conf import settings
from django.urls import reverse

from onepage.signed_ids import SignedId

_TOKENS = SignedId("contacts.preference.v1")
make_token = _TOKENS.make
read_token = _TOKENS.read


def preference_url(contact_id: int) -> str:
    return settings.SITE_URL + reverse("privacy_public:preference", args=[make_token(contact_id)])
