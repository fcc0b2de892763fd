"""The recipient's own link: a tracked copy carries it, and through it the
recipient refuses (or allows) tracking without signing in. Forged links
change nothing and cost no query; a valid one changes the preference once."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from contacts.links import make_token
from contacts.models import ConsentRecord, Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration
from emails.tasks import send_email
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a href="(https?://[^"]+/o/p/[^"]+/)"')
PIXEL = re.compile(r'<img src="(https?://[^"]+/o/[^"]+\.gif)"')


def _url(contact: Contact) -> str:
    return reverse("privacy_public:preference", args=[make_token(contact.pk)])


@pytest.fixture
def lena(org):
    return ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="DE")


def test_forged_and_altered_tokens_change_nothing_and_run_no_query(lena, django_assert_num_queries):
    good = make_token(lena.pk)
    altered = make_token(lena.pk + 1)[:-1] + ("A" if not good.endswith("A") else "B")
    for token in ("forged", good[:-2], altered, make_token(lena.pk).replace(":", ":x")):
        with django_assert_num_queries(0):
            response = Client().post(f"/o/p/{token}/", {"choice": "refused"})
        assert response.status_code == 404
    lena.refresh_from_db()
    assert lena.open_tracking == Contact.OpenTracking.NOT_ASKED
    assert not ConsentRecord.objects.exists()


def test_pixel_token_does_not_open_the_preference_page(lena, django_assert_num_queries):
    from emails.pixels import make_token as pixel_token

    with django_assert_num_queries(0):
        assert Client().post(f"/o/p/{pixel_token(lena.pk)}/", {"choice": "refused"}).status_code == 404


def test_valid_link_shows_the_choice_in_the_recipients_language_and_changes_nothing_on_view(lena):
    response = Client().get(_url(lena))
    assert response.status_code == 200
    assert '<html lang="de">' in response.content.decode()
    assert "Dürfen wir sehen, wann Sie unsere E-Mails öffnen?" in response.content.decode()
    # Who is asking: the organization that sends the emails, by name.
    assert f"Die E-Mails von {lena.organization.name}" in response.content.decode()
    lena.refresh_from_db()
    assert lena.open_tracking == Contact.OpenTracking.NOT_ASKED
    assert not ConsentRecord.objects.exists()


def test_valid_link_flips_the_preference_once_and_writes_one_record(lena):
    client = Client(enforce_csrf_checks=False)
    for _ in range(3):  # a double click, a replay
        response = client.post(_url(lena), {"choice": "refused"})
        assert response.status_code == 200
    lena.refresh_from_db()
    assert lena.open_tracking == Contact.OpenTracking.REFUSED
    record = ConsentRecord.objects.get()
    assert (record.by_recipient, record.actor, record.method) == (True, None, ConsentRecord.Method.LINK)
    assert "Dürfen wir sehen" in record.wording
    assert "Erledigt: Ihre Öffnungen werden nicht mehr erfasst." in response.content.decode()

    client.post(_url(lena), {"choice": "allowed"})
    assert ConsentRecord.objects.count() == 2
    assert client.post(_url(lena), {"choice": "bogus"}).status_code == 400


def test_the_delivered_copy_carries_the_link_and_refusing_through_it_stops_its_opens(
    org, sender, rep_client, lena, smtp_server, django_capture_on_commit_callbacks, settings
):
    settings.REDIS_URL = ""
    Contact.objects.filter(pk=lena.pk).update(open_tracking=Contact.OpenTracking.ALLOWED)
    EmailConfiguration.objects.filter(organization=org).update(preference_link=True, preference_link_text="Opt out")
    with django_capture_on_commit_callbacks(execute=False):
        rep_client.post(reverse("emails:compose"), {"to": lena.email, "subject": "Hi", "body": "Hello", "track": "on"})
    send_email.apply(args=[Email.objects.get().pk])
    delivered = smtp_server.received[-1]
    html = delivered.part("text/html")
    (link,) = LINK.findall(html)
    assert ">Opt out</a>" in html
    assert link in delivered.part("text/plain")

    Client().get(urlsplit(PIXEL.findall(html)[0]).path)
    assert OpenEvent.objects.count() == 1
    assert Client().post(urlsplit(link).path, {"choice": "refused"}).status_code == 200
    Client().get(urlsplit(PIXEL.findall(html)[0]).path)
    assert OpenEvent.objects.count() == 0  # deleted with the withdrawal, and the new one not recorded
    page = rep_client.get(reverse("contacts:detail", args=[lena.pk])).content.decode()
    assert "by The recipient · The recipient&#x27;s own link" in page


def test_without_the_setting_or_for_an_address_that_is_no_contact_there_is_no_link(
    org, sender, rep_client, lena, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        rep_client.post(reverse("emails:compose"), {"to": lena.email, "subject": "Hi", "body": "Hi", "track": "on"})
    send_email.apply(args=[Email.objects.get().pk])
    assert "/o/p/" not in smtp_server.received[-1].part("text/html")


def _consent_table(connection, *, away: bool) -> None:
    names = ("contacts_consentrecord", "contacts_consentrecord_away")
    old, new = names if away else reversed(names)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")


def test_a_database_failure_while_saving_the_choice_says_so_and_changes_nothing(lena, caplog):
    from django.db import connection

    client = Client()
    # A real failure of the write: the consent records' table is not there
    # (renamed within the test's transaction, put back below).
    _consent_table(connection, away=True)
    try:
        response = client.post(_url(lena), {"choice": "refused"})
    finally:
        _consent_table(connection, away=False)
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Ihre Wahl konnte gerade nicht gespeichert werden" in page
    assert 'value="refused"' in page  # the buttons again, to choose once it is back
    assert "Erledigt" not in page
    lena.refresh_from_db()
    assert lena.open_tracking == Contact.OpenTracking.NOT_ASKED
    assert f"contact {lena.pk}" in caplog.text and "lena@" not in caplog.text

    assert client.post(_url(lena), {"choice": "refused"}).status_code == 200
    lena.refresh_from_db()
    assert lena.open_tracking == Contact.OpenTracking.REFUSED
    assert ConsentRecord.objects.count() == 1
