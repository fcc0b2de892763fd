"""The daily email: the day's people's opens, sent through the system's mail
(a real SMTP server here) at the time each user picked, in their own time
zone, once a day whatever runs the task; never tracked; never a machine's
fetch, a muted email or another organization's opens."""

import re
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.urls import NoReverseMatch, reverse

from alerts import daily, tasks
from alerts.models import AlertSettings, DailyEmail, EmailMute
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.celery import app
from onepage.models import Membership
from onepage.tests.factories import MembershipFactory
from tracking.models import Verdict
from tracking.tests.factories import OpenEventFactory

pytestmark = pytest.mark.django_db

FROM = "OnePage <onepage@onepage.example>"
SITE = "https://crm.acme.example"
MACHINES = [Verdict.PRIVACY_PREFETCH, Verdict.SCANNER, Verdict.EARLY, Verdict.REPEAT, Verdict.SELF]
# Monday 2 March 2026: Auckland is UTC+13 (summer time), Los Angeles UTC-8.
AKL_17 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 17:00 on the 2nd in Auckland
LAX_17 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 17:00 on the 2nd in Los Angeles


@pytest.fixture
def system_mail(settings, smtp_server):
    """Django's own mail goes to the real SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    settings.DEFAULT_FROM_EMAIL = FROM
    settings.SITE_URL = SITE
    return smtp_server


def member(org, username: str, *, role=Membership.Role.REP, time_zone="", daily_email=True, at=time(17, 0)):
    user = MembershipFactory(
        organization=org, role=role, user__username=username, user__first_name=username.title(), user__last_name="Lee"
    ).user
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    AlertSettings.objects.create(user=user, daily_email=daily_email, daily_email_at=at)
    return user


def opened(recipient, *moments: datetime, verdict=Verdict.HUMAN) -> None:
    for at in moments:
        OpenEventFactory(recipient=recipient, email=recipient.email, opened_at=at, verdict=verdict)


def sent_to_bea(sender, bea, subject="Spring order"):
    """The recipient row of Bea on an email the sender sent."""
    email = EmailFactory(organization=sender.membership.organization, sender=sender, subject=subject)
    return EmailRecipientFactory(email=email, contact=bea)


def aggregate_opened(email, *moments: datetime) -> None:
    for at in moments:
        OpenEventFactory(recipient=None, email=email, opened_at=at)


def sent_to(server, user) -> list:
    return [m for m in server.received if m.rcpt_tos == [user.email]]


def settings_url() -> str:
    try:
        return SITE + reverse("alerts:settings")
    except NoReverseMatch:
        return SITE + reverse("settings")


@pytest.fixture
def kiri(org):
    """A rep in Auckland (her organization's time zone)."""
    org.time_zone = "Pacific/Auckland"
    org.save(update_fields=["time_zone"])
    return member(org, "kiri")


@pytest.fixture
def lou(org):
    """A rep of the same organization in Los Angeles (his own time zone)."""
    return member(org, "lou", time_zone="America/Los_Angeles")


@pytest.fixture
def bea(org):
    return ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")


def test_each_user_gets_the_days_opens_at_their_own_17_00_once(system_mail, org, kiri, lou, bea):
    spring = sent_to_bea(kiri, bea)
    # Kiri's Monday (Auckland): 08:15, 09:30 and 10:42; Sunday's open is another day's.
    opened(spring, *(datetime(2026, 3, 1, h, m, tzinfo=UTC) for h, m in ((19, 15), (20, 30), (21, 42))))
    opened(spring, datetime(2026, 3, 1, 10, 59, tzinfo=UTC))  # 23:59 on Sunday in Auckland
    price = EmailRecipientFactory(email=EmailFactory(organization=org, sender=lou, subject="Price list"), contact=bea)
    # Lou's Monday (Los Angeles): 09:05; Bea's 16:30 counts too (before his 17:00).
    opened(price, datetime(2026, 3, 2, 17, 5, tzinfo=UTC), datetime(2026, 3, 3, 0, 30, tzinfo=UTC))

    # Beat every 15 minutes for two days, each run twice.
    received_at = {}
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    while now <= datetime(2026, 3, 3, 12, 0, tzinfo=UTC):
        for _ in range(2):
            daily.send_due(now=now)
        for user in (kiri, lou):
            if len(sent_to(system_mail, user)) > len(received_at.get(user.username, [])):
                received_at.setdefault(user.username, []).append(now)
        now += timedelta(minutes=15)

    assert received_at == {"kiri": [AKL_17], "lou": [LAX_17]}
    (to_kiri,), (to_lou,) = sent_to(system_mail, kiri), sent_to(system_mail, lou)
    assert to_kiri.mail_from == "onepage@onepage.example"
    assert to_kiri.message["From"] == FROM and to_kiri.message["To"] == kiri.email
    assert "Monday 2 March" in to_kiri.message["Subject"]
    text = to_kiri.part("text/plain")
    assert "Bea Buyer opened Spring order 3 times, last 10:42" in text
    assert "Price list" not in text
    assert f"{SITE}/email/{spring.email_id}/" in text
    assert settings_url() in text
    assert "Bea Buyer opened Price list 2 times, last 16:30" in to_lou.part("text/plain")
    assert "Spring order" not in to_lou.part("text/plain")
    assert set(DailyEmail.objects.filter(sent_at__isnull=False).values_list("user__username", "day")) >= {
        ("kiri", AKL_17.date()),
        ("lou", datetime(2026, 3, 2).date()),
    }


def test_only_a_persons_opens_of_the_users_own_organization_and_unmuted_emails(system_mail, org, other_org, kiri, bea):
    spring = sent_to_bea(kiri, bea)
    opened(spring, AKL_17 - timedelta(hours=3))
    for k, verdict in enumerate(MACHINES):
        opened(spring, AKL_17 - timedelta(hours=2, minutes=k), verdict=verdict)
    # Sent as Kiri under another organization (she was a member there): not hers to see here.
    rival = EmailRecipientFactory(email=EmailFactory(organization=other_org, sender=kiri, subject="Rival secret"))
    opened(rival, AKL_17 - timedelta(hours=1))
    muted = EmailRecipientFactory(email=EmailFactory(organization=org, sender=kiri, subject="Muted one"), contact=bea)
    opened(muted, AKL_17 - timedelta(hours=1))
    EmailMute.objects.create(user=kiri, email=muted.email)

    assert daily.send_due(now=AKL_17) == 1

    text = sent_to(system_mail, kiri)[0].part("text/plain")
    assert "Bea Buyer opened Spring order once, at 14:00" in text
    assert "Rival secret" not in text and "Muted one" not in text


def test_an_admin_also_hears_of_the_teammates_they_follow_and_a_rep_does_not(system_mail, org, other_org, kiri, bea):
    ada = member(org, "ada", role=Membership.Role.ADMIN, time_zone="Pacific/Auckland")
    rex = member(org, "rex", time_zone="Pacific/Auckland")
    stranger = MembershipFactory(organization=other_org).user
    ada.alert_settings.follows.add(kiri, stranger)
    rex.alert_settings.follows.add(kiri)
    spring = sent_to_bea(kiri, bea)
    opened(spring, AKL_17 - timedelta(hours=3))
    theirs = EmailRecipientFactory(email=EmailFactory(organization=other_org, sender=stranger, subject="Rival secret"))
    opened(theirs, AKL_17 - timedelta(hours=3))

    assert daily.send_due(now=AKL_17) == 2  # Kiri and Ada; Rex has no opens of his own

    text = sent_to(system_mail, ada)[0].part("text/plain")
    assert "Bea Buyer opened Spring order once, at 14:00" in text
    assert "Kiri Lee" in text  # whose email it is
    assert "Rival secret" not in text
    assert sent_to(system_mail, rex) == []


def test_nothing_for_a_user_with_the_daily_email_off_or_no_longer_active(system_mail, org, bea):
    off = member(org, "off", time_zone="Pacific/Auckland", daily_email=False)
    gone = member(org, "gone", time_zone="Pacific/Auckland")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    for user in (off, gone):
        opened(EmailRecipientFactory(email=EmailFactory(organization=org, sender=user)), AKL_17 - timedelta(hours=1))

    assert daily.send_due(now=AKL_17) == 0
    assert system_mail.received == [] and not DailyEmail.objects.exists()


def test_a_day_without_opens_sends_nothing_and_later_opens_wait_for_the_next_day(system_mail, org, kiri, bea):
    spring = sent_to_bea(kiri, bea)

    assert daily.send_due(now=AKL_17) == 0
    opened(spring, AKL_17 + timedelta(minutes=5))
    assert daily.send_due(now=AKL_17 + timedelta(minutes=15)) == 0

    assert system_mail.received == []
    assert DailyEmail.objects.get(user=kiri).day == AKL_17.date()


def test_a_time_just_before_midnight_still_sends_that_days_email_after_it(system_mail, org, bea):
    owl = member(org, "owl", time_zone="Pacific/Auckland", at=time(23, 55))
    spring = sent_to_bea(owl, bea)
    opened(spring, AKL_17)  # 17:00 on Monday
    monday_23_50 = datetime(2026, 3, 2, 10, 50, tzinfo=UTC)

    assert daily.send_due(now=monday_23_50) == 0
    assert daily.send_due(now=monday_23_50 + timedelta(minutes=15)) == 1  # 00:05 on Tuesday

    message = sent_to(system_mail, owl)[0]
    assert "Monday 2 March" in message.message["Subject"]
    assert DailyEmail.objects.get(user=owl).day == AKL_17.date()


def test_recipients_without_a_contact_and_aggregate_opens(system_mail, org, kiri):
    email = EmailFactory(organization=org, sender=kiri, subject="Spring order")
    opened(EmailRecipientFactory(email=email, contact=None, address="buyer@shop.example"), AKL_17 - timedelta(hours=1))
    aggregate_opened(email, AKL_17 - timedelta(hours=2), AKL_17 - timedelta(hours=1))

    daily.send_due(now=AKL_17)

    text = sent_to(system_mail, kiri)[0].part("text/plain")
    assert "buyer@shop.example opened Spring order once, at 16:00" in text
    assert "2 opens counted in the email's total only" in text


def test_the_message_escapes_names_and_has_no_pixel_and_no_tracked_link(system_mail, org, kiri):
    contact = ContactFactory(organization=org, first_name="<b>Bo</b>", last_name='& "Co"', email="bo@co.example")
    email = EmailFactory(organization=org, sender=kiri, subject="<script>x</script>")
    opened(EmailRecipientFactory(email=email, contact=contact), AKL_17 - timedelta(hours=1))

    daily.send_due(now=AKL_17)

    message = sent_to(system_mail, kiri)[0]
    html = message.part("text/html")
    assert "&lt;b&gt;Bo&lt;/b&gt; &amp; &quot;Co&quot;" in html and "<b>Bo" not in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert '<b>Bo</b> & "Co" opened <script>x</script> once' in message.part("text/plain")
    text = message.part("text/plain")
    assert "<img" not in html.lower() and "/o/" not in html and "/o/" not in text
    links = re.findall(r'href="([^"]+)"', html)
    assert links and set(links) == {f"{SITE}/email/{email.pk}/", settings_url()}
    assert set(re.findall(r"https?://\S+", text)) == set(links)


def test_a_refused_send_is_sent_once_by_the_next_run(system_mail, org, kiri, bea, caplog):
    spring = sent_to_bea(kiri, bea)
    opened(spring, AKL_17 - timedelta(hours=1))
    system_mail.reply = "451 Try again later"

    assert daily.send_due(now=AKL_17) == 0
    assert not DailyEmail.objects.exists()  # the claim released
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "alerts.daily"]
    assert "was not sent (SMTPDataError)" in logged and kiri.email not in logged

    system_mail.reply = None
    assert daily.send_due(now=AKL_17 + timedelta(minutes=15)) == 1
    assert daily.send_due(now=AKL_17 + timedelta(minutes=30)) == 0
    assert len(sent_to(system_mail, kiri)) == 1


def test_a_claim_a_dead_worker_left_unsent_is_taken_over_after_the_claim_timeout(system_mail, org, kiri, bea):
    spring = sent_to_bea(kiri, bea)
    opened(spring, AKL_17 - timedelta(hours=1))
    claim = DailyEmail.objects.create(user=kiri, day=AKL_17.date())
    DailyEmail.objects.filter(pk=claim.pk).update(created_at=AKL_17)
    timeout = timedelta(seconds=django_settings.EMAIL_CLAIM_TIMEOUT)

    # Still within the timeout: another worker may be sending it.
    assert daily.send_due(now=AKL_17 + timeout - timedelta(minutes=1)) == 0
    assert daily.send_due(now=AKL_17 + timeout + timedelta(minutes=1)) == 1
    assert daily.send_due(now=AKL_17 + timeout + timedelta(minutes=16)) == 0
    assert len(sent_to(system_mail, kiri)) == 1
    assert DailyEmail.objects.get().sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_runs_at_once_send_each_users_email_once(system_mail, org, kiri, bea):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite admits one writer at a time; the race needs PostgreSQL")
    others = [member(org, f"rep{k}", time_zone="Pacific/Auckland") for k in range(5)]
    for user in [kiri, *others]:
        opened(EmailRecipientFactory(email=EmailFactory(organization=org, sender=user), contact=bea), AKL_17)
    start = threading.Barrier(4)
    sent = []

    def run() -> None:
        try:
            start.wait(5)
            sent.append(daily.send_due(now=AKL_17 + timedelta(minutes=1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(sent) == 6
    assert sorted(m.rcpt_tos[0] for m in system_mail.received) == sorted(u.email for u in [kiri, *others])


@pytest.mark.parametrize("users", [1, 4])
def test_the_queries_are_two_per_run_and_three_per_user(system_mail, org, bea, django_assert_num_queries, users):
    for k in range(users):
        user = member(org, f"rep{k}", time_zone="Pacific/Auckland")
        spring = EmailRecipientFactory(email=EmailFactory(organization=org, sender=user), contact=bea)
        opened(spring, AKL_17 - timedelta(hours=1), AKL_17 - timedelta(minutes=30))
        aggregate_opened(spring.email, AKL_17 - timedelta(hours=2))
    # The users due (settings, membership, organization); the days already done;
    # then for each: the claim, the day's opens, sent_at.
    with django_assert_num_queries(2 + 3 * users):
        assert daily.send_due(now=AKL_17) == users


def test_beat_runs_the_task_every_15_minutes(system_mail, org, kiri, bea):
    entry = django_settings.CELERY_BEAT_SCHEDULE["send-daily-emails"]
    assert entry["task"] == tasks.send_daily_emails.name and entry["schedule"] == 15 * 60
    assert entry["task"] in app.tasks  # the worker knows it
    opened(EmailRecipientFactory(email=EmailFactory(organization=org, sender=kiri), contact=bea), AKL_17)

    with time_machine.travel(AKL_17 + timedelta(minutes=3), tick=False):
        assert tasks.send_daily_emails.apply().result == 1
    assert len(sent_to(system_mail, kiri)) == 1
