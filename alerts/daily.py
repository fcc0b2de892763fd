"""The daily email: a user's day of people's opens, by email and recipient,
through the system's mail (Django's EMAIL_BACKEND, from DEFAULT_FROM_EMAIL),
never through a rep's mailbox and never tracked: no pixel, and its links go
straight to OnePage's own pages.

Who gets it: each active member with an address and AlertSettings.daily_email
on, once their time (daily_email_at) has passed in their time zone (theirs,
else their organization's). A run shortly after midnight (up to LATE_AT_MOST
past the time) still sends the day before's, so a time such as 23:55 is not
skipped by a run every 15 minutes.

What it tells: the counted opens (tracking.models.COUNTED: never an Apple
privacy prefetch, a scanner, an early, repeated or own fetch) of the day from
local midnight to the run, of the user's own emails and, for an admin, of the
teammates they follow; only emails of their organization; never an email
they muted. An open in aggregate names nobody: its email gets one line,
"N opens counted in the email's total only".

A day without opens sends nothing: the day is done at its time (the claim's
sent_at is set, no message goes out), and opens later that day wait for no
email.

Once a day, whatever runs the task: a run claims the user's day first (a
DailyEmail row, unique on user and day: a conflict means another run has it),
then reads the opens, sends, and sets sent_at. A send the mail backend failed
(the server refused it or could not be reached) releases the claim: the next
run sends it, once. A claim a worker left unsent (it died mid-send) is taken
over by a run EMAIL_CLAIM_TIMEOUT after it was made (the claim's created_at);
only in that case can a message the server had already accepted go out a
second time.

Queries: two per run (the users with the daily email on, the days already
done), then three per user due: the claim, the day's opens, sent_at."""

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.dateformat import format as date_format

from onepage.models import User

from .daily_opens import EmailOpens, day_opens
from .models import DailyEmail

logger = logging.getLogger(__name__)

LATE_AT_MOST = timedelta(hours=6)


def send_due(*, now: datetime) -> int:
    """Send the daily emails due at `now`. Returns how many were sent."""
    users = list(
        User.objects.filter(is_active=True, alert_settings__daily_email=True, membership__isnull=False)
        .exclude(email="")
        .select_related("alert_settings", "membership__organization")
        .order_by("pk")
    )
    due = {user.pk: day for user in users if (day := due_day(user, now)) is not None}
    if not due:
        return 0
    done = _days_done(due, now)
    backend = mail.get_connection(timeout=settings.SMTP_DATA_TIMEOUT)
    sent = 0
    for user in users:
        day = due.get(user.pk)
        if day is not None and (user.pk, day) not in done:
            sent += _send_one(user, day, now=now, backend=backend)
    if sent:
        logger.info("Sent %d daily emails", sent)
    return sent


def due_day(user: User, now: datetime) -> date | None:
    """The user's day whose email is due at `now`: today once its time has
    passed, else yesterday up to LATE_AT_MOST past its time."""
    zone, at = user.zone, user.alert_settings.daily_email_at
    today = now.astimezone(zone).date()
    if now >= datetime.combine(today, at, tzinfo=zone):
        return today
    yesterday = today - timedelta(days=1)
    if now - datetime.combine(yesterday, at, tzinfo=zone) < LATE_AT_MOST:
        return yesterday
    return None


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT)


def _days_done(due: dict[int, date], now: datetime) -> set[tuple[int, date]]:
    """The (user, day) of `due` already sent, or claimed by a run that may
    still be sending."""
    rows = DailyEmail.objects.filter(
        Q(sent_at__isnull=False) | Q(created_at__gt=now - _claim_timeout()),
        user__alert_settings__daily_email=True,
        day__gte=min(due.values()),
    )
    return set(rows.values_list("user_id", "day"))


def _claim(user: User, day: date, now: datetime) -> int | None:
    """Claim the user's day (or take over a dead worker's claim): the row's
    id, or None when another run has it."""
    table = connection.ops.quote_name(DailyEmail._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"INSERT INTO {table} (user_id, day, sent_at, created_at) VALUES (%s, %s, NULL, %s) "  # noqa: S608
        f"ON CONFLICT (user_id, day) DO UPDATE SET created_at = excluded.created_at "
        f"WHERE {table}.sent_at IS NULL AND {table}.created_at <= %s RETURNING id"
    )
    params = [user.pk, connection.ops.adapt_datefield_value(day), adapt(now), adapt(now - _claim_timeout())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _send_one(user: User, day: date, *, now: datetime, backend) -> int:
    claim = _claim(user, day, now)
    if claim is None:
        return 0
    zone = user.zone
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = min(now, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))
    emails = day_opens(user, start=start, end=end, zone=zone)
    if emails:
        try:
            message(user, day, emails, connection=backend).send()
        except Exception as exc:
            # Not sent: the next run sends it.
            DailyEmail.objects.filter(pk=claim, sent_at__isnull=True).delete()
            # The exception's name only: its text may hold the address.
            logger.warning(
                "The daily email of user %s was not sent (%s): retried at the next run", user.pk, type(exc).__name__
            )
            return 0
    DailyEmail.objects.filter(pk=claim).update(sent_at=now)
    return 1 if emails else 0


def _absolute(url_name: str, *args) -> str:
    return settings.SITE_URL + reverse(url_name, args=args)


def settings_url() -> str:
    """Where the user turns it off: the notifications' settings, else Settings."""
    try:
        return _absolute("alerts:settings")
    except NoReverseMatch:
        return _absolute("settings")


def message(user: User, day: date, emails: list[EmailOpens], *, connection=None) -> mail.EmailMultiAlternatives:
    for email in emails:
        email.url = _absolute("emails:detail", email.pk)
    context = {
        "user": user,
        "day": date_format(day, "l j F"),
        "zone": str(user.zone),
        "emails": emails,
        "settings_url": settings_url(),
    }
    text = render_to_string("alerts/daily_email.txt", context)
    html = render_to_string("alerts/daily_email.html", context)
    subject = f"Opens of your emails on {context['day']}"
    msg = mail.EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection)
    msg.attach_alternative(html, "text/html")
    return msg
