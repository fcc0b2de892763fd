"""The recipient's own link to their open-tracking choice: a signed contact
id, like the pixel's token (emails.pixels) but with a salt of its own, so
that neither token opens the other's door. A forged or altered token fails
the signature check before any database access."""

from django.conf import settings
from django.core import signing
from django.urls import reverse


def _signer() -> signing.Signer:
    # Made per call: it follows the SECRET_KEY in force.
    return signing.Signer(salt="contacts.preference.v1")


def make_token(contact_id: int) -> str:
    return _signer().sign(signing.b62_encode(contact_id))


def read_token(token: str) -> int | None:
    """The contact id a token carries, or None when it is not ours."""
    try:
        return signing.b62_decode(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def preference_url(contact_id: int) -> str:
    return settings.SITE_URL + reverse("privacy_public:preference", args=[make_token(contact_id)])
