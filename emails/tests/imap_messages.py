"""Raw messages for the IMAP tests, as a mail client or a provider files them."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime


def raw_message(
    *,
    sender: str,
    to: list[str],
    subject: str = "Hello",
    body: str = "Hi there",
    message_id: str,
    cc: list[str] | None = None,
    in_reply_to: str = "",
    date: datetime | None = None,
    html: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(date or datetime.now(UTC) - timedelta(minutes=5))
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()
