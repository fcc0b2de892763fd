"""Which IMAP folders the sync reads: INBOX, and Sent as the server marks it
(SPECIAL-USE \\Sent), or by its usual names when the server marks none."""

from imapclient import IMAPClient
from imapclient.imapclient import SENT

# Looked for, in this order, when no folder is marked \Sent.
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "[Gmail]/Sent Mail", "INBOX.Sent", "INBOX/Sent")


def find_folders(client: IMAPClient) -> dict[str, str | None]:
    """{"inbox": name, "sent": name or None}."""
    listed = client.list_folders()
    sent = next((name for flags, _, name in listed if SENT in flags), None)
    if sent is None:
        names = {name.lower(): name for _, _, name in listed}
        sent = next((names[n.lower()] for n in SENT_NAMES if n.lower() in names), None)
    return {"inbox": "INBOX", "sent": sent}
