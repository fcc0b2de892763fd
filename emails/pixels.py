"""Pixel tokens: a signed recipient id, nothing else.

A forged or altered token fails the signature check before any database
access."""

from django.conf import settings
from django.core import signing
from django.urls import reverse


def _signer() -> signing.Signer:
    # Made per call: it follows the SECRET_KEY in force (a rotated key, a test's).
    return signing.Signer(salt="tracking.pixel.v1")


def make_token(recipient_id: int) -> str:
    return _signer().sign(signing.b62_encode(recipient_id))


def read_token(token: str) -> int | None:
    """The recipient id a token carries, or None when it is not ours."""
    try:
        return signing.b62_decode(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def pixel_url(recipient_id: int) -> str:
    return settings.SITE_URL + reverse("tracking:pixel", args=[make_token(recipient_id)])
