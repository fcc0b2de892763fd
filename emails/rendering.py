"""From the plain text a rep writes to the MIME message a recipient gets.

The HTML part is generated from the text (escaped, paragraphs, links made
clickable). Only a tracked copy's HTML part carries the pixel; the text part
never does, and what the CRM shows is built from the text, so viewing your
own email never loads a pixel."""

import re
from datetime import UTC
from email.utils import format_datetime, formataddr, make_msgid

from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, urlize

from .models import Email, EmailRecipient, Mailbox

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# What Python's email package takes for a line break, and other controls.
# The forms refuse them (onepage.validators); rows saved before they did
# still hold some, and one in a from name used to fail every send.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _header_text(value: str) -> str:
    return _CONTROLS.sub(" ", value).strip()


HTML_DOCUMENT = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
    '<body><div style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5">\n'
    "{body}\n</div></body>\n</html>\n"
)


def body_to_html(text: str) -> str:
    """The text as an HTML fragment: every character escaped, blank lines
    make paragraphs, single newlines line breaks, links clickable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    # urlize escapes everything that is not a link (autoescape=True).
    return "\n".join(f"<p>{urlize(p, autoescape=True).replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs)


def html_document(*, subject: str, body_html: str) -> str:
    return HTML_DOCUMENT.format(title=escape(subject), body=body_html)


def pixel_tag(pixel_url: str) -> str:
    return f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">'


def inject_pixel(html: str, pixel_url: str) -> str:
    """One pixel, just before the (last) </body>, where it is loaded after
    everything the recipient sees."""
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + pixel_tag(pixel_url)
    at = matches[-1].start()
    return html[:at] + pixel_tag(pixel_url) + html[at:]


def new_message_id(mailbox: Mailbox) -> str:
    return make_msgid(domain=mailbox.from_address.rpartition("@")[2] or None)


class OutgoingMessage(EmailMultiAlternatives):
    """A message whose envelope is set apart from its headers: each copy of
    a tracked email shows everyone the same To and Cc but goes to one
    recipient. Bcc addresses are never written in the headers."""

    def __init__(self, *args, envelope: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.envelope = list(envelope)

    def recipients(self) -> list[str]:
        return list(self.envelope)


def inject_footer(html: str, *, url: str, text: str) -> str:
    """The link to the recipient's tracking choice, last in the body."""
    footer = (
        '<p style="font-size: 12px; color: #666666; margin-top: 24px">'
        f'<a href="{escape(url)}" style="color: #666666">{escape(text)}</a></p>'
    )
    match = _BODY_END.search(html)
    at = html.rfind("</div>", 0, match.start()) if match else -1
    return html[:at] + footer + html[at:] if at >= 0 else html + footer


def build_message(
    *,
    email: Email,
    mailbox: Mailbox,
    recipients: list[EmailRecipient],
    envelope: list[str],
    pixel_url: str | None = None,
    preference_link: tuple[str, str] | None = None,
) -> OutgoingMessage:
    """One message (or one recipient's copy) of `email`. `recipients` are all
    of the email's recipients, for the visible headers; `envelope` are the
    addresses this message is actually delivered to."""
    to = [r.address for r in recipients if r.kind == EmailRecipient.Kind.TO]
    cc = [r.address for r in recipients if r.kind == EmailRecipient.Kind.CC]
    headers = {
        # The same on every copy (and on a retry), so mail clients thread them
        # as one message.
        "Message-ID": email.message_id,
        "Date": format_datetime(email.created_at.astimezone(UTC)),
    }
    if not to:
        headers["To"] = "undisclosed-recipients:;"
    html = html_document(subject=email.subject, body_html=email.body_html)
    body = email.body_text
    if preference_link:
        url, text = preference_link
        html = inject_footer(html, url=url, text=text)
        body = f"{body.rstrip()}\n\n-- \n{_header_text(text)}\n{url}\n"
    if pixel_url:
        html = inject_pixel(html, pixel_url)
    from_name = _header_text(mailbox.from_name)
    message = OutgoingMessage(
        subject=_header_text(email.subject),
        body=body,
        from_email=formataddr((from_name, mailbox.from_address)) if from_name else mailbox.from_address,
        to=to,
        cc=cc,
        headers=headers,
        envelope=envelope,
    )
    message.attach_alternative(html, "text/html")
    return message
