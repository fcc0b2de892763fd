"""Pixel tokens: a signed recipient id, nothing else (onepage.signed_ids).
The salt keeps the name it had when tokens were filed in tracking: tokens
already sent keep working. A forged or altered token fails the signature
check before any database access."""

from django.conf import settings
from django.urls import reverse

from onepage.signed_ids import SignedId

_TOKENS = SignedId("tracking.pixel.v1")
make_token = _TOKENS.make
read_token = _TOKENS.read


def pixel_url(recipient_id: int) -> str:
    return settings.SITE_URL + reverse("tracking:pixel", args=[make_token(recipient_id)])
