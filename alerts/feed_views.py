"""The activity feed's page (alerts.feed): the viewer's own emails' opens,
or, for admins, everyone's. A rep asking for everyone's gets the admins-only
page (403) rather than their own under another name."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from onepage.paging import page_number
from onepage.permissions import admins_only, may_see_everyones_activity

from .feed import DEFAULT_PERIOD, PERIODS, feed_page, since_of

MINE, EVERYONE = "mine", "everyone"


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    everyone = request.GET.get("who") == EVERYONE
    if everyone and not may_see_everyones_activity(request.membership):
        reason = "Everyone's opens in one feed are for admins: your feed shows the opens of your own emails."
        return admins_only(request, reason=reason, back_url=reverse("activity:feed"))
    period = request.GET.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    page = feed_page(
        organization=request.organization,
        sender=None if everyone else request.user,
        since=since_of(period),
        number=page_number(request.GET.get("page")),
    )
    keep = {"who": EVERYONE} if everyone else {}
    keep |= {"period": period} if period != DEFAULT_PERIOD else {}
    return render(
        request,
        "alerts/feed.html",
        {
            "page": page,
            "everyone": everyone,
            "period": period,
            "periods": [(key, label) for key, (label, _) in PERIODS.items()],
            "period_label": PERIODS[period][0],
            "page_query": urlencode(keep),
        },
    )
