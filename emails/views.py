from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from onepage.models import User

from . import reports
from .reports import Folder

EMAILS_PER_PAGE = 25
EVERYONE = "all"


def _teammates(request: HttpRequest) -> list[User]:
    return list(
        User.objects.filter(membership__organization=request.organization).order_by("first_name", "last_name", "pk")
    )


def _sender_for(request: HttpRequest, teammates: list[User] | None) -> tuple[User | None, str]:
    """Whose emails the page lists: (sender or None for everyone, the select's
    value). Reps always see their own: their `?sender=` is ignored."""
    raw = request.GET.get("sender", "")
    if teammates is None or raw in ("", "me", str(request.user.pk)):
        return request.user, ""
    if raw == EVERYONE:
        return None, EVERYONE
    for user in teammates:
        if str(user.pk) == raw:
            return user, raw
    # Another organization's user, or nobody: never hint which.
    raise Http404("No such teammate.")


def _compose_url() -> str:
    # The composer comes with the sending work; the page must not break
    # while it is not there.
    try:
        return reverse("emails:compose")
    except NoReverseMatch:
        return ""


def email_index(request: HttpRequest, folder: str = Folder.SENT) -> HttpResponse:
    is_admin = request.membership.is_admin
    teammates = _teammates(request) if is_admin else None
    sender, sender_value = _sender_for(request, teammates)
    scope = reports.emails_in_scope(organization=request.organization, sender=sender)
    badges = reports.folder_badges(scope)

    q = request.GET.get("q", "").strip()[:200]
    filters = reports.parse_open_filters(request.GET) if folder == Folder.OPEN_TRACKING else reports.OpenFilters()
    emails = reports.folder_emails(scope, folder).select_related("sender")
    emails = emails.prefetch_related(reports.recipients_prefetch())
    if q:
        emails = reports.search_emails(emails, q)
    emails = reports.filter_opens(emails, filters)

    page = reports.slice_page(emails, number=reports.page_number(request.GET.get("page")), per_page=EMAILS_PER_PAGE)
    reports.attach_open_reports(page.object_list)

    # What every folder link and pager link keeps: who and what we look at.
    keep = {k: v for k, v in {"sender": sender_value, "q": q}.items() if v}
    folder_keep = {**keep, "opened": filters.opened, "more_than": filters.more_than}
    folder_keep = {k: v for k, v in folder_keep.items() if v not in ("", None)}
    folders = [
        {
            "key": key,
            "label": Folder.LABELS[key],
            "url": reverse(f"emails:{'index' if key == Folder.SENT else key.replace('-', '_')}"),
            "badge": badges.get(key, 0),
        }
        for key in (Folder.SENT, Folder.OPEN_TRACKING, Folder.FAILED, Folder.QUEUED)
        if key != Folder.QUEUED or badges.get(Folder.QUEUED) or folder == Folder.QUEUED
    ]
    return render(
        request,
        "emails/email_index.html",
        {
            "folder": folder,
            "folder_label": Folder.LABELS[folder],
            "folders": folders,
            "page": page,
            "q": q,
            "filters": filters,
            "teammates": teammates,
            "sender": sender,
            "sender_value": sender_value,
            "viewing_own": sender == request.user,
            "keep_query": urlencode(keep),
            "page_query": urlencode(folder_keep),
            "compose_url": _compose_url(),
        },
    )
