"""The development mailbox: delivers to files instead of a server, and reads
them back for /dev/outbox/. Each delivered copy is an .eml with a .json next
to it saying what the SMTP envelope would have said."""

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_KEY_RE = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{32}$")


def _org_dir(organization_id: int) -> Path:
    return Path(settings.DEV_OUTBOX_DIR) / f"org-{int(organization_id)}"


class DevelopmentOutboxBackend(BaseEmailBackend):
    """Delivers each message to a file instead of a server: one .eml per
    delivered copy, and a .json next to it with what the SMTP envelope would
    have said (organization, email, envelope recipients, time)."""

    def __init__(self, *, organization_id: int, email_id: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.organization_id = organization_id
        self.email_id = email_id

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        folder = _org_dir(self.organization_id)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            now = timezone.now()
            key = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}"
            raw = message.message()
            meta = {
                "organization_id": self.organization_id,
                "email_id": self.email_id,
                "envelope_recipients": recipients,
                "delivered_at": now.isoformat(),
                "subject": str(raw["Subject"] or ""),
                "to": str(raw["To"] or ""),
                "from": str(raw["From"] or ""),
            }
            _write_atomically(folder / f"{key}.eml", raw.as_bytes(linesep="\n"))
            # The .json is written last: a message is listed once both exist.
            _write_atomically(folder / f"{key}.json", json.dumps(meta, indent=2).encode())
            sent += 1
        if sent and self.email_id is not None:
            # Which emails have copies here, for the email page's button.
            (folder / "emails").mkdir(exist_ok=True)
            (folder / "emails" / str(int(self.email_id))).touch()
        return sent


def outbox_holds(organization_id: int, email_id: int) -> bool:
    """Whether the development mailbox delivered copies of this email."""
    return (_org_dir(organization_id) / "emails" / str(int(email_id))).exists()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class OutboxMessage:
    key: str
    meta: dict
    folder: Path

    @property
    def subject(self) -> str:
        return self.meta.get("subject", "")

    @property
    def to(self) -> str:
        return self.meta.get("to", "")

    @property
    def envelope_recipients(self) -> list[str]:
        return list(self.meta.get("envelope_recipients", []))

    @property
    def sender(self) -> str:
        """The From header as sent."""
        return self.meta.get("from", "")

    @property
    def email_id(self) -> int | None:
        return self.meta.get("email_id")

    @property
    def delivered_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["delivered_at"])

    @cached_property
    def parsed(self) -> ParsedMessage:
        return message_from_bytes((self.folder / f"{self.key}.eml").read_bytes(), policy=policy.default)

    def header(self, name: str) -> str:
        return str(self.parsed[name] or "")

    @cached_property
    def headers(self) -> dict[str, str]:
        """The visible headers, keyed for templates (message_id, not Message-ID)."""
        names = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
        return {name.lower().replace("-", "_"): self.header(name) for name in names}

    def part(self, content_type: str) -> str:
        for part in self.parsed.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        return ""


def outbox_messages(organization_id: int) -> list[OutboxMessage]:
    """The organization's delivered copies, newest first."""
    folder = _org_dir(organization_id)
    if not folder.is_dir():
        return []
    keys = sorted((p.stem for p in folder.glob("*.json") if _KEY_RE.match(p.stem)), reverse=True)
    return [m for m in (_load(folder, key, organization_id) for key in keys) if m is not None]


def sent_by(messages: list[OutboxMessage], email_ids: set[int]) -> list[OutboxMessage]:
    """The copies of these emails (one sender's, for the list's picker)."""
    return [m for m in messages if m.email_id in email_ids]


def outbox_message(organization_id: int, key: str) -> OutboxMessage | None:
    # The key names a file: only our own shape gets near the file system.
    if not _KEY_RE.match(key):
        return None
    return _load(_org_dir(organization_id), key, organization_id)


def _load(folder: Path, key: str, organization_id: int) -> OutboxMessage | None:
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("organization_id") != organization_id or not (folder / f"{key}.eml").exists():
        return None
    return OutboxMessage(key=key, meta=meta, folder=folder)
