"""Mailbox passwords at rest: Fernet (AES + HMAC) with a key from settings.

MAILBOX_ENCRYPTION_KEY is a Fernet key (`Fernet.generate_key()`); when it is
not set, a key is derived from SECRET_KEY, so changing SECRET_KEY makes the
stored passwords unreadable and users must enter them again."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class UnreadablePassword(Exception):
    """The stored password was encrypted with another key."""


def _fernet() -> Fernet:
    key = settings.MAILBOX_ENCRYPTION_KEY
    if key:
        try:
            return Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                "MAILBOX_ENCRYPTION_KEY must be a Fernet key: 32 url-safe base64-encoded bytes "
                '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
            ) from None
    # Its own "info" so that this key is useless for anything else SECRET_KEY signs.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"onepage.mailbox-password.v1").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadablePassword(
            "The saved mailbox password can no longer be read (the encryption key changed): enter it again."
        ) from None
