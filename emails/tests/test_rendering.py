import re
from email import message_from_bytes

import pytest

from emails.models import EmailRecipient
from emails.rendering import body_to_html, build_message, inject_pixel
from emails.tests.factories import EmailFactory, EmailRecipientFactory, MailboxFactory

PIXEL = "https://crm.example/o/abc:def.gif"


def test_body_is_escaped_split_into_paragraphs_and_links_are_clickable():
    html = body_to_html("Hi <b>Ann</b> & co,\n\nSee https://acme.example/offer?a=1&b=2\nThanks\r\n\r\n\r\nRex")
    assert html == (
        "<p>Hi &lt;b&gt;Ann&lt;/b&gt; &amp; co,</p>\n"
        '<p>See <a href="https://acme.example/offer?a=1&amp;b=2">https://acme.example/offer?a=1&amp;b=2</a><br>\n'
        "Thanks</p>\n"
        "<p>Rex</p>"
    )


def test_script_in_the_body_never_becomes_markup():
    html = body_to_html('<script>alert(1)</script> <img src=x onerror="alert(2)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_pixel_goes_once_just_before_the_closing_body_tag():
    html = inject_pixel("<html><body><p>Hi</p></BODY></html>", PIXEL)
    assert html == f'<html><body><p>Hi</p><img src="{PIXEL}" width="1" height="1" alt=""></BODY></html>'


def test_pixel_is_appended_when_there_is_no_body_tag():
    assert inject_pixel("<p>Hi</p>", PIXEL).endswith(f'<img src="{PIXEL}" width="1" height="1" alt="">')


@pytest.mark.django_db
def test_a_copy_shows_to_and_cc_but_goes_to_its_own_envelope_recipient_and_hides_bcc(org):
    email = EmailFactory(organization=org, subject="Offer", body_text="Hello\n\nhttps://acme.example")
    email.body_html = body_to_html(email.body_text)
    email.message_id = "<1@acme.example>"
    to = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.TO, contact=None, address="ann@ex.org")
    cc = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.CC, contact=None, address="bob@ex.org")
    bcc = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.BCC, contact=None, address="eve@ex.org")
    mailbox = MailboxFactory(user=email.sender, from_name="Rex Rep", from_address="rex@acme.example")

    message = build_message(
        email=email, mailbox=mailbox, recipients=[to, cc, bcc], envelope=[bcc.address], pixel_url=PIXEL
    )

    assert message.recipients() == ["eve@ex.org"]
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed["To"] == "ann@ex.org"
    assert parsed["Cc"] == "bob@ex.org"
    assert parsed["Bcc"] is None
    assert b"eve@ex.org" not in message.message().as_bytes()
    assert parsed["From"] == "Rex Rep <rex@acme.example>"
    assert parsed["Message-ID"] == "<1@acme.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = (p.get_payload(decode=True).decode() for p in parsed.get_payload())
    assert PIXEL not in text and "/o/" not in text
    assert len(re.findall(r"<img ", html)) == 1
    assert html.index(PIXEL) < html.lower().index("</body>")
    assert '<a href="https://acme.example">' in html


@pytest.mark.django_db
def test_an_untracked_message_has_no_image_at_all(org):
    email = EmailFactory(organization=org, track_opens=False)
    email.body_html = body_to_html(email.body_text)
    recipient = EmailRecipientFactory(email=email, contact=None, address="ann@ex.org")
    mailbox = MailboxFactory(user=email.sender)
    message = build_message(email=email, mailbox=mailbox, recipients=[recipient], envelope=["ann@ex.org"])
    assert "<img" not in message.alternatives[0][0]


@pytest.mark.django_db
def test_only_bcc_recipients_get_undisclosed_recipients(org):
    email = EmailFactory(organization=org)
    recipient = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.BCC, contact=None, address="eve@ex.org")
    message = build_message(
        email=email, mailbox=MailboxFactory(user=email.sender), recipients=[recipient], envelope=["eve@ex.org"]
    )
    parsed = message.message()
    assert parsed["To"] == "undisclosed-recipients:;"
    assert "eve@ex.org" not in parsed.as_string()
