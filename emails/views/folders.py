"""The Email page: the Sent, Open tracking, Failed and Queued folders."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from onepage.forms import SearchForm
from onepage.paging import page_number, slice_page

from .. import selectors
from ..access import chosen_sender, teammates
from ..forms.folders import OpenFiltersForm
from ..reports import CONFIGURATION, attach_open_reports, recipients_prefetch
from ..selectors import Folder

EMAILS_PER_PAGE = 25
FOLDER_URLS = {
    Folder.SENT: "emails:index",
    Folder.OPEN_TRACKING: "emails:open_tracking",
    Folder.FAILED: "emails:failed",
    Folder.QUEUED: "emails:queued",
}


def email_index(request: HttpRequest, folder: str = Folder.SENT) -> HttpResponse:
    folder = Folder(folder)
    # Every member may look at a teammate's emails, or everyone's (read-only).
    members = teammates(request)
    sender, sender_value = chosen_sender(request, members)
    scope = selectors.emails_in_scope(organization=request.organization, sender=sender)
    badges = selectors.folder_badges(scope)

    search = SearchForm(request.GET)
    q = search.query(max_length=200)
    open_filters = OpenFiltersForm(request.GET) if folder == Folder.OPEN_TRACKING else None
    filters = open_filters.filters() if open_filters else selectors.OpenFilters()
    emails = selectors.folder_emails(scope, folder).select_related("sender", CONFIGURATION)
    emails = emails.prefetch_related(recipients_prefetch())
    if q:
        emails = selectors.search_emails(emails, q)
    emails = selectors.filter_opens(emails, filters)

    page = slice_page(emails, number=page_number(request.GET.get("page")), per_page=EMAILS_PER_PAGE)
    # The rows show recipients and counters; each open report loads when its
    # eye is opened (emails:open_report), not rendered for all 25 rows.
    attach_open_reports(page.object_list, recent=False)

    # Folder links keep whose emails we look at; pager links also keep the
    # search and the filters.
    keep = {"sender": sender_value} if sender_value else {}
    page_keep = {**keep, "q": q, "opened": filters.opened, "more_than": filters.more_than}
    folders = [
        {"key": key, "label": key.label, "url": reverse(FOLDER_URLS[key]), "badge": badges.get(key, 0)}
        for key in Folder
        if key != Folder.QUEUED or badges.get(Folder.QUEUED) or folder == Folder.QUEUED
    ]
    return render(
        request,
        "emails/email_index.html",
        {
            "folder": folder,
            "folder_label": folder.label,
            # Emails that were never sent have no opens to show.
            "show_opens": folder in (Folder.SENT, Folder.OPEN_TRACKING),
            "folders": folders,
            "page": page,
            "q": q,
            "search": search,
            "filters": filters,
            "open_filters": open_filters,
            "teammates": members,
            "sender": sender,
            "sender_value": sender_value,
            "viewing_own": sender == request.user,
            "keep_query": urlencode(keep),
            "page_query": urlencode({k: v for k, v in page_keep.items() if v not in ("", None)}),
        },
    )
