"""Settings -> Email sync: each user connects the mailbox they send from,
tests it, and syncs it now."""

import copy

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from .. import crypto
from ..forms.mailbox import MailboxForm
from ..mailboxes import mailbox_connect, mailbox_disconnect, mailbox_of, mailbox_set_imap
from ..models import Mailbox
from ..sync.mailbox_sync import SyncResult, sync_mailbox
from ..transport.imap import IMAPSettings, check_imap_connection
from ..transport.server import CheckResult
from ..transport.smtp import SMTPSettings, check_connection

# Each test holds a web thread while it waits for a server: a few a minute
# per user is plenty to fix a typo, and too few to scan a network with.
CONNECTION_TESTS_PER_MINUTE = 5
TOO_MANY_TESTS = "Too many connection tests in a row: wait a minute, then try again."
# Sync now holds the page while it reads: a first sync of a big mailbox
# stops between two batches after this long, and the next sync goes on.
SYNC_NOW_SECONDS = 20
TRACKING_SWITCHED_ON = (
    " Allow open tracking is now on for {organization}: connecting an organization's first mailbox "
    "switches it on. An admin can switch it off in Settings → Email configuration."
)


def _get_mailbox_for_user(request: HttpRequest) -> Mailbox | None:
    return mailbox_of(user=request.user, organization=request.organization)


def _draft(current: Mailbox | None) -> Mailbox | None:
    """A copy for the form: validating writes the typed values onto its
    instance, and the "Connected" card must keep showing what is saved."""
    return copy.copy(current) if current is not None else None


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def _render(
    request: HttpRequest,
    form: MailboxForm,
    mailbox: Mailbox | None,
    *,
    check: CheckResult | None = None,
    imap_check: CheckResult | None = None,
    status=200,
) -> HttpResponse:
    if request.headers.get("HX-Request"):
        # Test connection through htmx: only the results are swapped in, so
        # the form keeps what was typed, the passwords included. (htmx swaps
        # only 2xx answers.)
        return render(
            request,
            "emails/mailbox_checks.html",
            {"form": form, "check": check, "imap_check": imap_check, "alone": True},
        )
    return render(
        request,
        "emails/mailbox.html",
        {
            "form": form,
            "mailbox": mailbox,
            "folders": list(mailbox.folders.all()) if mailbox and mailbox.syncs else [],
            "check": check,
            "imap_check": imap_check,
            "next": _safe_next(request),
            "debug_outbox": settings.DEBUG,
        },
        status=status,
    )


def _may_test_connection(request: HttpRequest) -> bool:
    key = f"mailbox-test:{request.user.pk}"
    cache.add(key, 0, timeout=60)  # the minute starts at the first test
    try:
        return cache.incr(key) <= CONNECTION_TESTS_PER_MINUTE
    except ValueError:  # expired between add and incr: a new minute
        cache.add(key, 1, timeout=60)
        return True


@sensitive_post_parameters("password", "imap_password")
@sensitive_variables("data")
@require_http_methods(["GET", "POST"])
def mailbox(request: HttpRequest) -> HttpResponse:
    current = _get_mailbox_for_user(request)
    form = MailboxForm(request.POST or None, instance=_draft(current))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            imap = form.imap_values(current=current)
        except crypto.UnreadablePassword as exc:
            return _render(request, form, current, check=CheckResult(False, str(exc)))
        saved, tracking_switched_on = mailbox_connect(
            user=request.user,
            organization=request.organization,
            kind=data["kind"],
            from_address=data["from_address"],
            from_name=data["from_name"],
            smtp_host=data["smtp_host"],
            smtp_port=data["smtp_port"],
            security=data["security"],
            username=data["username"],
            password=form.new_password(),
        )
        mailbox_set_imap(mailbox=saved, **imap)
        said = "Mailbox saved." if current else "Mailbox connected: you can send email now."
        if tracking_switched_on:
            said += TRACKING_SWITCHED_ON.format(organization=request.organization.name)
        messages.success(request, said)
        return redirect(_safe_next(request) or "mailbox")
    return _render(request, form, current)


@sensitive_post_parameters("password", "imap_password")
@sensitive_variables("data", "password")
@require_POST
def mailbox_test(request: HttpRequest) -> HttpResponse:
    """Try the settings in the form (saved or not) against the real server.
    Nothing is saved: the form comes back as it was, with the result."""
    current = _get_mailbox_for_user(request)
    form = MailboxForm(request.POST, instance=_draft(current))
    if not form.is_valid():
        return _render(request, form, current)
    if form.cleaned_data["kind"] == Mailbox.Kind.SMTP and not _may_test_connection(request):
        return _render(request, form, current, check=CheckResult(False, TOO_MANY_TESTS), status=429)
    data = form.cleaned_data
    # The passwords typed are not sent back to the browser, not even now
    # (with htmx, the default, the form stays as it was and keeps them).
    for name in ("password", "imap_password"):
        if data.get(name):
            form[name].help_text = "Not sent back to your browser: type it again to save it."
    if data["kind"] == Mailbox.Kind.DEVELOPMENT:
        check = CheckResult(True, "The development mailbox is ready: messages go to the development outbox.")
    else:
        password = form.new_password()
        if password is None:
            try:
                password = crypto.decrypt(current.password_encrypted) if form.has_password else ""
            except crypto.UnreadablePassword as exc:
                return _render(request, form, current, check=CheckResult(False, str(exc)))
        check = check_connection(
            SMTPSettings(
                host=data["smtp_host"],
                port=data["smtp_port"],
                security=data["security"],
                username=data["username"],
                password=password,
            )
        )
    return _render(request, form, current, check=check, imap_check=_test_imap(form, current))


@sensitive_variables("imap")
def _test_imap(form: MailboxForm, current: Mailbox | None) -> CheckResult | None:
    try:
        imap = form.imap_values(current=current)
    except crypto.UnreadablePassword as exc:
        return CheckResult(False, str(exc))
    if not imap["imap_host"]:
        return None
    password = imap["imap_password"]
    if password is None:
        try:
            password = crypto.decrypt(current.imap_password_encrypted) if form.has_imap_password else ""
        except crypto.UnreadablePassword as exc:
            return CheckResult(False, str(exc))
    imap_settings = IMAPSettings(
        imap["imap_host"], imap["imap_port"], imap["imap_security"], imap["imap_username"], password
    )
    return check_imap_connection(imap_settings)


@require_POST
def mailbox_sync_now(request: HttpRequest) -> HttpResponse:
    """Sync the user's mailbox now, and say what came in (or what failed)."""
    current = _get_mailbox_for_user(request)
    if current is None or not current.syncs:
        messages.info(request, "Add your IMAP server below first: Sync now reads your Inbox and Sent folders.")
        return redirect("mailbox")
    result = sync_mailbox(mailbox_id=current.pk, seconds=SYNC_NOW_SECONDS)
    if result is None:
        messages.info(request, "This mailbox is being synced right now: reload the page in a moment.")
    elif result.error:
        messages.error(request, f"Sync failed: {result.error}")
    else:
        messages.success(request, sync_result_words(result))
    return redirect("mailbox")


def sync_result_words(result: SyncResult) -> str:
    if not result.imported:
        said = "Synced: nothing new came in."
    else:
        emails = "1 email" if result.imported == 1 else f"{result.imported} emails"
        said = f"Synced: {emails} came in"
        if result.replies == 1:
            said += ", a reply." if result.imported == 1 else ", 1 of them a reply."
        elif result.replies:
            said += ", all replies." if result.replies == result.imported else f", {result.replies} of them replies."
        else:
            said += "."
    if not result.complete:
        said += " The rest comes in with the next sync, within minutes."
    return said


@require_http_methods(["GET", "POST"])
def mailbox_disconnect_view(request: HttpRequest) -> HttpResponse:
    current = _get_mailbox_for_user(request)
    if current is None:
        messages.info(request, "No mailbox is connected.")
        return redirect("mailbox")
    if request.method == "POST":
        mailbox_disconnect(mailbox=current)
        messages.success(request, f"{current.from_address} was disconnected. Connect a mailbox to send email again.")
        return redirect("mailbox")
    return render(request, "emails/mailbox_confirm_disconnect.html", {"mailbox": current})


def mailbox_required_redirect(request: HttpRequest, *, next_url: str) -> HttpResponse:
    """Where a user without a mailbox is sent when they try to write an email."""
    messages.warning(
        request,
        "Connect the mailbox you send from first: OnePage sends your emails through your own mail server, "
        "so replies come back to you.",
    )
    return redirect(f"{reverse('mailbox')}?{urlencode({'next': next_url})}")
