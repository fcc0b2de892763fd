import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from emails import crypto


def test_password_round_trips_and_is_not_stored_in_clear(settings):
    settings.MAILBOX_ENCRYPTION_KEY = ""
    token = crypto.encrypt("hunter2-S3cret")
    assert "hunter2" not in token
    assert crypto.decrypt(token) == "hunter2-S3cret"
    # Fernet tokens carry a random IV: the same password never encrypts the same twice.
    assert crypto.encrypt("hunter2-S3cret") != token


def test_changing_secret_key_makes_stored_passwords_unreadable_with_a_message(settings):
    settings.MAILBOX_ENCRYPTION_KEY = ""
    token = crypto.encrypt("hunter2")
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(crypto.UnreadablePassword, match="enter it again"):
        crypto.decrypt(token)


def test_an_explicit_key_is_used_instead_of_secret_key(settings):
    key = Fernet.generate_key().decode()
    settings.MAILBOX_ENCRYPTION_KEY = key
    token = crypto.encrypt("hunter2")
    assert Fernet(key).decrypt(token.encode()) == b"hunter2"
    settings.SECRET_KEY = "changed"
    assert crypto.decrypt(token) == "hunter2"


def test_a_malformed_key_fails_loudly(settings):
    settings.MAILBOX_ENCRYPTION_KEY = "not-a-fernet-key"
    with pytest.raises(ImproperlyConfigured, match="MAILBOX_ENCRYPTION_KEY"):
        crypto.encrypt("x")
