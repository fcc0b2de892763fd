"""Reports: the team's outreach (alerts.outreach) and its tables as CSV.
Admins see everyone's, or one rep's (?rep=<id>); a rep sees their own, and
asking for a teammate's gets the admins-only page (403), as the activity
feed's Everyone does. ?weeks= is 4, 12 or 52 (anything else: 12); a rep
that is not a number is a 400, one that is no member of the organization a
404."""

import csv

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from onepage.models import User
from onepage.permissions import admins_only, may_see_everyones_activity

from .outreach import DEFAULT_WEEKS, PERIODS, Outreach, outreach
from .outreach_chart import chart
from .outreach_tables import TABLES, duration, percent, rep_name, tables

# The rows of "Each rep, week by week" on the page (its CSV holds every one).
REP_WEEKS_SHOWN = 50


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _weeks(request: HttpRequest) -> int:
    raw = request.GET.get("weeks", "")
    return int(raw) if raw in {str(p) for p in PERIODS} else DEFAULT_WEEKS


def _members(request: HttpRequest) -> dict[int, User]:
    return User.objects.filter(membership__organization=request.organization).in_bulk()


def _sender(request: HttpRequest, members: dict[int, User]) -> User | None:
    """The rep asked for: None for everyone (admins), the viewer for a rep."""
    everyone = may_see_everyones_activity(request.membership)
    raw = request.GET.get("rep", "")
    if not raw:
        return None if everyone else request.user
    if not raw.isdigit() or len(raw) > 18:
        raise _Refused(render(request, "400.html", status=400))
    if not everyone and int(raw) != request.user.pk:
        reason = "Every rep's outreach is for admins: your report shows your own emails."
        raise _Refused(admins_only(request, reason=reason, back_url=reverse("reports:outreach")))
    if int(raw) not in members:
        raise Http404("No such member")
    return members[int(raw)]


def _numbers(request: HttpRequest, *, page: bool) -> tuple[Outreach, User | None, int, dict[int, User]]:
    """The page shows the latest REP_WEEKS_SHOWN rep-weeks; a CSV holds them all."""
    members = _members(request)
    sender = _sender(request, members)
    weeks = _weeks(request)
    numbers = outreach(
        organization=request.organization,
        members=members,
        sender=sender,
        weeks=weeks,
        rep_weeks=REP_WEEKS_SHOWN if page else None,
    )
    return numbers, sender, weeks, members


@require_GET
def outreach_page(request: HttpRequest) -> HttpResponse:
    try:
        numbers, sender, weeks, members = _numbers(request, page=True)
    except _Refused as refused:
        return refused.response
    everyone = may_see_everyones_activity(request.membership)
    if sender is None:
        who = "the team's"
    elif sender == request.user:
        who = "your"
    else:
        who = f"{rep_name(sender)}'s"
    keep = {"weeks": weeks} | ({"rep": sender.pk} if sender is not None and everyone else {})
    shown = tables(numbers)
    if sender is not None:
        del shown["rep-weeks"]  # one rep's weeks are the first table

    total = numbers.total
    return render(
        request,
        "alerts/outreach.html",
        {
            "numbers": numbers,
            "total": total,
            "chart": chart(numbers, who=who),
            "tables": shown.values(),
            "who": who,
            "everyone": everyone,
            "sender": sender,
            "weeks": weeks,
            "periods": PERIODS,
            "reps": sorted(members.values(), key=lambda u: (rep_name(u).lower(), u.pk)),
            "query": urlencode(keep),
            "gap_emails": numbers.machines_only,
            "median": duration(total.to_first_open),
            "gap": [(g.label, g.emails, percent(g.emails, numbers.machines_only)) for g in numbers.gap],
            "rates": {
                key: percent(part, total.sent)
                for key, part in (("fetched", total.fetched), ("opened", total.opened), ("replied", total.replied))
            },
            "gap_points": round(100 * numbers.machines_only / total.sent) if total.sent else 0,
            "automatic_share": percent(numbers.automatic, numbers.fetches),
        },
    )


@require_GET
def outreach_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLES:
        raise Http404("No such table")
    try:
        numbers, sender, weeks, _ = _numbers(request, page=False)
    except _Refused as refused:
        return refused.response
    who = "team" if sender is None else f"rep-{sender.pk}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="outreach-{table}-{who}-{weeks}-weeks.csv"'
    csv.writer(response).writerows(tables(numbers)[table].csv_rows())
    return response
