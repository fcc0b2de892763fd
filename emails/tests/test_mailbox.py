import socket

import pytest
from django.urls import reverse

from conftest import free_port
from emails import crypto
from emails.forms.mailbox import DEVELOPMENT_ONLY
from emails.models import EmailConfiguration, Mailbox
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory, SMTPMailboxFactory
from emails.transport import server
from onepage.models import SettingChange
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def smtp_form(server=None, **overrides) -> dict:
    data = {
        "kind": "smtp",
        "smtp_host": server.host if server else "smtp.example.com",
        "smtp_port": server.port if server else 587,
        "security": "none" if server else "starttls",
        "username": "rex@acme.example",
        "password": PASSWORD,
        "from_name": "Rex Rep",
        "from_address": "rex@acme.example",
    }
    data.update(overrides)
    return data


@pytest.fixture
def refusing_server():
    """A real SMTP server that turns every login down."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    attempts = []

    def refuse(*args):
        attempts.append(args[3])  # the mechanism tried
        return AuthResult(success=False, handled=False)

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=free_port(), auth_require_tls=False, authenticator=refuse
    )
    controller.attempts = attempts
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        yield sock.getsockname()[1]


def test_page_offers_to_connect_when_nothing_is_connected(rep_client):
    response = rep_client.get(reverse("mailbox"))
    assert response.status_code == 200
    assert b"Connect your mailbox" in response.content
    assert b"Test connection" in response.content


def test_settings_index_links_to_email_sync(rep_client):
    assert reverse("mailbox").encode() in rep_client.get(reverse("settings")).content


def test_connect_stores_the_password_encrypted_and_never_shows_it(rep_client, rep_user):
    response = rep_client.post(reverse("mailbox"), smtp_form())
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(user=rep_user)
    assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.security) == ("smtp.example.com", 587, "starttls")
    assert mailbox.organization == rep_user.membership.organization
    assert PASSWORD not in mailbox.password_encrypted
    assert crypto.decrypt(mailbox.password_encrypted) == PASSWORD
    page = rep_client.get(reverse("mailbox")).content.decode()
    assert "Connected" in page and "smtp.example.com:587" in page
    assert PASSWORD not in page
    assert mailbox.password_encrypted not in page


def test_edit_with_a_blank_password_keeps_the_current_one(rep_client, rep_user):
    rep_client.post(reverse("mailbox"), smtp_form())
    rep_client.post(reverse("mailbox"), smtp_form(password="", smtp_host="mail.acme.example", from_name="Rex R."))
    mailbox = Mailbox.objects.get(user=rep_user)
    assert mailbox.smtp_host == "mail.acme.example"
    assert mailbox.from_name == "Rex R."
    assert crypto.decrypt(mailbox.password_encrypted) == PASSWORD

    rep_client.post(reverse("mailbox"), smtp_form(password="a-new-one"))
    mailbox.refresh_from_db()
    assert crypto.decrypt(mailbox.password_encrypted) == "a-new-one"


def test_missing_smtp_details_are_field_errors_and_nothing_is_lost(rep_client, rep_user):
    response = rep_client.post(reverse("mailbox"), smtp_form(smtp_host="", password="", from_address="nope"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["smtp_host"] == ["Enter the SMTP server's host name."]
    assert errors["password"] == ["Enter the password for this user name."]
    assert "from_address" in errors
    assert b'value="rex@acme.example"' in response.content  # the user name typed is still there
    assert not Mailbox.objects.filter(user=rep_user).exists()


def test_development_mailbox_is_refused_outside_debug(rep_client, rep_user, settings):
    settings.DEBUG = False
    response = rep_client.post(reverse("mailbox"), {"kind": "development", "from_address": "rex@acme.example"})
    assert response.status_code == 200
    assert response.context["form"].errors["kind"] == [DEVELOPMENT_ONLY]
    assert not Mailbox.objects.filter(user=rep_user).exists()
    assert b"Development mailbox" not in rep_client.get(reverse("mailbox")).content


def test_development_mailbox_can_be_chosen_in_debug(rep_client, rep_user, settings):
    settings.DEBUG = True
    response = rep_client.post(reverse("mailbox"), {"kind": "development", "from_address": "rex@acme.example"})
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(user=rep_user)
    assert mailbox.kind == Mailbox.Kind.DEVELOPMENT
    assert mailbox.password_encrypted == ""


def test_test_connection_logs_in_to_a_real_server_and_saves_nothing(rep_client, rep_user, smtp_server):
    response = rep_client.post(reverse("mailbox_test"), smtp_form(smtp_server))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Connection works." in content
    assert f"Connected to 127.0.0.1:{smtp_server.port} and logged in" in content
    assert not Mailbox.objects.filter(user=rep_user).exists()
    # The form comes back as typed, apart from the password, and says so.
    assert f'value="{smtp_server.port}"' in content
    assert PASSWORD not in content
    assert "Not sent back to your browser: type it again to save it." in content


def test_test_connection_uses_the_saved_password_when_left_blank(rep_client, rep_user, refusing_server):
    MailboxFactory(
        user=rep_user,
        kind="smtp",
        smtp_host="127.0.0.1",
        smtp_port=refusing_server.port,
        security="none",
        username="rex",
        password_encrypted=crypto.encrypt("saved-pass"),
    )
    data = smtp_form(
        smtp_host="127.0.0.1", smtp_port=refusing_server.port, security="none", password="", username="rex"
    )
    content = rep_client.post(reverse("mailbox_test"), data).content.decode()
    # It tried to log in with the saved password (and was turned down).
    assert "Connection failed." in content
    assert "The server refused the user name or password: 535" in content


def test_test_connection_explains_a_closed_port(rep_client):
    port = free_port()
    response = rep_client.post(
        reverse("mailbox_test"), smtp_form(smtp_host="127.0.0.1", smtp_port=port, security="none")
    )
    content = response.content.decode()
    assert "Connection failed." in content
    assert f"The server at 127.0.0.1:{port} refused the connection: nothing is listening on that port." in content


def test_test_connection_reports_bad_credentials_with_the_servers_reply(rep_client, refusing_server):
    response = rep_client.post(
        reverse("mailbox_test"), smtp_form(smtp_host="127.0.0.1", smtp_port=refusing_server.port, security="none")
    )
    assert "The server refused the user name or password: 535 5.7.8 Authentication credentials invalid" in (
        response.content.decode()
    )


def test_test_connection_gives_up_on_a_silent_server(rep_client, silent_server, monkeypatch):
    monkeypatch.setattr(server, "SMTP_TIMEOUT", 1)
    response = rep_client.post(
        reverse("mailbox_test"), smtp_form(smtp_host="127.0.0.1", smtp_port=silent_server, security="none")
    )
    assert f"The server at 127.0.0.1:{silent_server} did not answer within 1 second." in response.content.decode()


def test_test_connection_explains_starttls_on_a_server_without_it(rep_client, smtp_server):
    response = rep_client.post(reverse("mailbox_test"), smtp_form(smtp_server, security="starttls"))
    assert "Check the security setting" in response.content.decode()


def test_disconnect_asks_first_then_removes_the_mailbox(rep_client, rep_user):
    MailboxFactory(user=rep_user)
    page = rep_client.get(reverse("mailbox_disconnect"))
    assert b"Disconnect" in page.content
    assert Mailbox.objects.filter(user=rep_user).exists()
    response = rep_client.post(reverse("mailbox_disconnect"))
    assert response.status_code == 302
    assert not Mailbox.objects.filter(user=rep_user).exists()


def test_first_mailbox_of_the_organization_switches_open_tracking_on_and_logs_it(rep_client, rep_user, org):
    rep_client.post(reverse("mailbox"), smtp_form())
    assert EmailConfiguration.objects.get(organization=org).allow_open_tracking is True
    change = SettingChange.objects.get(organization=org)
    assert (change.actor, change.setting, change.old_value, change.new_value) == (
        rep_user,
        "allow_open_tracking",
        "off",
        "on",
    )


def test_only_the_first_mailbox_logs_a_change(client, rep_user, admin_user, org):
    client.force_login(rep_user)
    client.post(reverse("mailbox"), smtp_form())
    client.force_login(admin_user)
    client.post(reverse("mailbox"), smtp_form(from_address="ada@acme.example"))
    assert Mailbox.objects.filter(organization=org).count() == 2
    assert SettingChange.objects.filter(organization=org).count() == 1


def test_an_admins_earlier_choice_is_not_overridden(rep_client, org, admin_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=False)
    SettingChange.objects.create(
        organization=org, actor=admin_user, setting="allow_open_tracking", old_value="on", new_value="off"
    )
    rep_client.post(reverse("mailbox"), smtp_form())
    assert EmailConfiguration.objects.get(organization=org).allow_open_tracking is False
    assert SettingChange.objects.filter(organization=org).count() == 1


def test_another_organizations_mailbox_does_not_count_as_ours(rep_client, org, other_org):
    MailboxFactory(user=MembershipFactory(organization=other_org).user)
    rep_client.post(reverse("mailbox"), smtp_form())
    assert EmailConfiguration.objects.get(organization=org).allow_open_tracking is True
    assert not SettingChange.objects.filter(organization=other_org).exists()


def test_each_user_sees_and_changes_only_their_own_mailbox(client, rep_user, admin_user):
    theirs = MailboxFactory(user=admin_user, kind="smtp", smtp_host="ada-only.example", from_address="ada@a.example")
    client.force_login(rep_user)
    page = client.get(reverse("mailbox")).content.decode()
    assert "ada-only.example" not in page and "Connect your mailbox" in page
    client.post(reverse("mailbox_disconnect"))
    assert Mailbox.objects.filter(pk=theirs.pk).exists()
    client.post(reverse("mailbox"), smtp_form())
    theirs.refresh_from_db()
    assert theirs.smtp_host == "ada-only.example"


def test_connecting_returns_to_the_composer_it_was_sent_from(rep_client):
    response = rep_client.post(reverse("mailbox"), {**smtp_form(), "next": "/email/compose/?contact=3"})
    assert response.url == "/email/compose/?contact=3"
    response = rep_client.post(reverse("mailbox"), {**smtp_form(), "next": "https://evil.example/"})
    assert response.url == reverse("mailbox")


def test_seed_demo_connects_the_demo_users_to_the_development_mailbox_in_debug(settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    mailboxes = Mailbox.objects.select_related("user", "organization").order_by("user__username")
    assert [(m.user.username, m.kind, m.organization.name) for m in mailboxes] == [
        ("ada", "development", "Acme Widgets"),
        ("rex", "development", "Acme Widgets"),
    ]
    acme = mailboxes[0].organization
    assert EmailConfiguration.objects.get(organization=acme).allow_open_tracking is True
    change = SettingChange.objects.get(organization=acme, setting="allow_open_tracking")
    assert (change.actor.username, change.old_value, change.new_value) == ("ada", "off", "on")


def test_seed_demo_refuses_to_run_outside_debug(settings):
    from django.core.management import CommandError, call_command

    from onepage.models import User

    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("seed_demo")
    assert not User.objects.exists() and not Mailbox.objects.exists()


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_login_smtp_cannot_send_is_a_field_error_not_a_500(rep_client, smtp_server, field):
    response = rep_client.post(reverse("mailbox_test"), smtp_form(smtp_server, **{field: "pässwörd"}))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [
        "Use letters, digits and symbols of ASCII only: SMTP logins cannot carry others."
    ]


def test_the_connected_card_shows_what_is_saved_not_what_was_typed(rep_client, rep_user, smtp_server):
    SMTPMailboxFactory(user=rep_user, server=smtp_server, from_address="rex@acme.example")
    saved = f"127.0.0.1:{smtp_server.port}"
    typed = smtp_form(smtp_server, smtp_host="untested.example", from_address="typed@acme.example")

    for url, data in [
        (reverse("mailbox_test"), typed),  # Test connection never saves
        (reverse("mailbox"), {**typed, "from_address": "not an address"}),  # a save with errors
    ]:
        page = rep_client.post(url, data).content.decode()
        card = page.split('class="card narrow mailbox-summary"')[1].split("</section>")[0]
        assert saved in card and "rex@acme.example" in card, url
        assert "untested.example" not in card and "typed@acme.example" not in card, url


def test_a_wrong_password_costs_one_failed_login_not_one_per_mechanism(rep_client, refusing_server):
    response = rep_client.post(
        reverse("mailbox_test"),
        smtp_form(None, smtp_host="127.0.0.1", smtp_port=refusing_server.port, security="none"),
    )
    assert "refused the user name or password" in response.content.decode()
    assert len(refusing_server.attempts) == 1


@pytest.fixture
def self_signed_smtps(tmp_path):
    """An SMTP server on implicit TLS whose certificate nobody vouches for."""
    import ssl

    from aiosmtpd.controller import Controller

    from onepage.tests.tls_proxy import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_an_unverifiable_certificate_says_so_not_which_port_is_which(rep_client, self_signed_smtps):
    response = rep_client.post(
        reverse("mailbox_test"),
        smtp_form(None, smtp_host="127.0.0.1", smtp_port=self_signed_smtps, security="ssl"),
    )
    content = response.content.decode()
    assert f"The certificate of 127.0.0.1:{self_signed_smtps} could not be verified" in content
    assert "port 465 is usually" not in content


def test_onepage_introduces_itself_by_its_public_name(
    sender, smtp_server, settings, django_capture_on_commit_callbacks
):
    from emails.services import email_create

    settings.CELERY_TASK_ALWAYS_EAGER = True  # sent in the request, in both runs
    settings.SITE_URL = "https://crm.acme.example"
    with django_capture_on_commit_callbacks(execute=True):
        email_create(
            organization=sender.membership.organization,
            sender=sender,
            subject="Hi",
            body_text="Hello",
            to=["ann@ex.org"],
        )
    (received,) = smtp_server.received
    assert received.helo == "crm.acme.example"

    settings.SITE_URL = "http://127.0.0.1:8000"
    with django_capture_on_commit_callbacks(execute=True):
        email_create(
            organization=sender.membership.organization, sender=sender, subject="Hi", body_text="Hi", to=["b@ex.org"]
        )
    assert smtp_server.received[1].helo == "[127.0.0.1]"
