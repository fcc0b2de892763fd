"""The pixel's token follows the SECRET_KEY in force: after a rotation, a
token signed with the old key still opens while that key is in
SECRET_KEY_FALLBACKS, and stops once it is dropped. The token check keeps
one signer per key (onepage.signed_ids) rather than building one per pixel;
a kept signer must never outlive the key it was made with."""

import pytest

from emails.pixels import make_token, read_token
from emails.tests.factories import EmailRecipientFactory
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db

OLD_KEY = "old-key-" + "x" * 50
NEW_KEY = "new-key-" + "y" * 50


def test_a_token_of_the_old_key_opens_while_it_is_a_fallback_and_not_after(mail_client, settle_opens, settings):
    recipient = EmailRecipientFactory()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    token = make_token(recipient.pk)
    mail_client.get(f"/o/{token}.gif")
    assert settle_opens() == 1

    # Rotated: the old key kept as a fallback, so mail already sent still counts.
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    mail_client.get(f"/o/{token}.gif")
    assert settle_opens() == 1
    assert make_token(recipient.pk) != token

    # The old key dropped: its tokens are forgeries now.
    settings.SECRET_KEY_FALLBACKS = []
    response = mail_client.get(f"/o/{token}.gif")
    assert response.status_code == 200
    assert settle_opens() == 0
    assert OpenEvent.objects.filter(recipient=recipient).count() == 2


def test_a_token_made_under_a_key_is_refused_under_another_and_read_again_under_it(settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    token = make_token(42)
    assert read_token(token) == 42
    settings.SECRET_KEY = NEW_KEY
    assert read_token(token) is None
    settings.SECRET_KEY = OLD_KEY
    assert read_token(token) == 42
