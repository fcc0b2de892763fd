"""A signed id for a URL: an integer id, base62, signed with SECRET_KEY under
a salt of its own, so that one kind of token never opens another's door. A
forged or altered token fails the signature check before any database
access. The pixel's token (emails.pixels) and the recipient's own link
(contacts.links) are two of them."""

from django.core import signing


class SignedId:
    def __init__(self, salt: str) -> None:
        self.salt = salt

    def _signer(self) -> signing.Signer:
        # Made per call: it follows the SECRET_KEY in force (a rotated key, a test's).
        return signing.Signer(salt=self.salt)

    def make(self, pk: int) -> str:
        return self._signer().sign(signing.b62_encode(pk))

    def read(self, token: str) -> int | None:
        """The id a token carries, or None when it is not one of ours."""
        try:
            return signing.b62_decode(self._signer().unsign(token))
        except (signing.BadSignature, ValueError):
            return None
