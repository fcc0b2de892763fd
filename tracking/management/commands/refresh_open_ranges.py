"""Replace the address ranges tracking.classify reads (OPEN_RANGES_FILE)
with the file served at OPEN_RANGES_URL: fetched, checked line by line, then
written atomically. Anything wrong leaves the old file in place."""

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracking import classify

# The iCloud Private Relay egress list alone is some 15 MB.
MAX_BYTES = 64 * 1024 * 1024
TIMEOUT = 30


class Command(BaseCommand):
    help = (
        "Fetch the address ranges of mail proxies, privacy prefetchers and scanners from OPEN_RANGES_URL "
        "(or --url), check them and replace OPEN_RANGES_FILE. Restart the recorder and web processes "
        "to read the new file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="Fetch from this URL instead of OPEN_RANGES_URL.")

    def handle(self, *args, url: str, **options):
        url = url or settings.OPEN_RANGES_URL
        if not url:
            raise CommandError("No URL: set OPEN_RANGES_URL (see deploy/env.example) or pass --url.")
        if not url.startswith(("https://", "http://")):
            raise CommandError(f"{url[:200]!r} is not an http(s) URL.")
        text = self._fetch(url)
        try:
            ranges = classify.parse_ranges(text)
        except classify.RangesError as exc:
            raise CommandError(f"The file at {url} is not a ranges file ({exc}); the current one is kept.") from None
        target = Path(settings.OPEN_RANGES_FILE)
        self._write(target, text)
        classify.forget_ranges()
        count = sum(len(networks) for networks in ranges.networks.values())
        self.stdout.write(f"{count} address ranges written to {target}.")

    def _fetch(self, url: str) -> str:
        # http(s) only: checked in handle().
        request = urllib.request.Request(url, headers={"User-Agent": "OnePage refresh_open_ranges"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                body = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise CommandError(f"{url} answered {exc.code} {exc.reason}; the current file is kept.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CommandError(f"Could not fetch {url} ({reason}); the current file is kept.") from None
        if len(body) > MAX_BYTES:
            raise CommandError(f"The file at {url} is larger than {MAX_BYTES} bytes; the current one is kept.")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"The file at {url} is not UTF-8 text; the current one is kept.") from None

    def _write(self, target: Path, text: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".open_ranges.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
