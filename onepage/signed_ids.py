"""A signed id for a URL: an integer id, base62, signed with SECRET_KEY under
a salt of its own, so that one kind of token never opens another's door. A
forged or altered token fails the signature check before any database
access. The pixel's token (emails.pixels) and the recipient's own link
(contacts.links) are two of them."""

from django.conf import settings
from django.core import signing


class SignedId:
    def __init__(self, salt: str) -> None:
        self.salt = salt
        # The signer of the keys in force, and those keys: one per key, not
        # one per call (building a Signer was a third of a pixel's token
        # check, issue 23). Replaced at once when the keys change (a
        # rotation, a test's); threads may race to replace it, harmlessly.
        self._kept: tuple[str, tuple[str, ...], signing.Signer] | None = None

    def _signer(self) -> signing.Signer:
        key, fallbacks = settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS)
        kept = self._kept
        if kept is None or kept[0] != key or kept[1] != fallbacks:
            kept = self._kept = (key, fallbacks, signing.Signer(key=key, fallback_keys=fallbacks, salt=self.salt))
        return kept[2]

    def make(self, pk: int) -> str:
        return self._signer().sign(signing.b62_encode(pk))

    def read(self, token: str) -> int | None:
        """The id a token carries, or None when it is not one of ours."""
        try:
            return signing.b62_decode(self._signer().unsign(token))
        except (signing.BadSignature, ValueError):
            return None
