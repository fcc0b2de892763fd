"""Every page of the app on a 390 px phone and a 1280 px window: nothing wider
than the screen, with the data that stretches layouts (a 100-character name
without spaces, an email opened 15 times, a failed email). Screenshots go to
var/screenshots/layout-<width>-<page>.png.

Every open report is opened too (the eye's report in Sent and Open
tracking, the report on a contact's Email tab, the one on the email's page),
and each page, with its report open, is read the way a person would:
nothing outside the screen, no word broken in the middle ("Ed / it"), no
button whose label wraps ("Searc / h"). Screenshots of the reports go to
var/screenshots/report-<width>-<page>.png."""

import datetime as dt
from pathlib import Path
from pprint import pformat

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from conftest import screenshot, sign_in
from contacts import links
from contacts.tests.factories import ContactFactory
from emails.models import ERASED_ADDRESS, Email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory
from tracking.hits import Open
from tracking.models import OpenEvent, Verdict
from tracking.tests.open_helpers import add_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.browser

LONG_NAME = "Maximilian" + "x" * 90


@pytest.fixture
def a_busy_day(org, admin_user, rep_user, settings):
    settings.DEBUG = True  # the development outbox pages exist in DEBUG only
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    # Synced over IMAP: Email sync shows both halves and the sync status.
    MailboxFactory(user=rep_user, imap_host="imap.example.com", imap_username="r" * 80 + "@example.com")
    long = ContactFactory(
        organization=org, first_name=LONG_NAME, last_name="Y" * 40, company="C" * 80, email=f"{'l' * 60}@example.com"
    )
    email = EmailFactory(organization=org, sender=rep_user, subject="S" * 150)
    recipient = EmailRecipientFactory(email=email, contact=long, address=long.email)
    # A recipient whose contact was deleted (privacy.erasure).
    EmailRecipientFactory(email=email, contact=None, address=ERASED_ADDRESS, track_opens=False)
    now = timezone.now()
    add_opens(recipient, [now - dt.timedelta(minutes=m) for m in range(15)])
    # Automatic fetches: "+2 automatic fetches" and their kinds in the report.
    automatic = [(Verdict.PRIVACY_PREFETCH, 2), (Verdict.SCANNER, 4)]
    write_opens(
        opens=[
            Open(recipient_id=recipient.pk, opened_at=now - dt.timedelta(minutes=m, seconds=30), key=v, pre_verdict=v)
            for v, m in automatic
        ]
    )
    # The bell's panel: the long name, told of twice (the notifications
    # hang on two of its opens, by their hit keys; the counts stay as they are).
    for kind, event in zip(
        [Notification.Kind.FIRST_OPEN, Notification.Kind.DIGEST],
        OpenEvent.objects.filter(recipient=recipient)[:2],
        strict=True,
    ):
        OpenEvent.objects.filter(pk=event.pk).update(hit_key=f"layout-{event.pk}")
        Notification.objects.create(
            user=rep_user,
            organization=org,
            email=email,
            recipient=recipient,
            kind=kind,
            open_id=f"layout-{event.pk}",
            count=14 if kind == Notification.Kind.DIGEST else 1,
            opened_at=event.opened_at,
            last_opened_at=event.opened_at,
            day=timezone.localdate(event.opened_at) if kind == Notification.Kind.DIGEST else None,
        )
    failed = EmailFactory(
        organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None, error="550 " + "e" * 200
    )
    EmailRecipientFactory(email=failed, contact=long, address=long.email)
    # An ordinary email to ordinary people (sent two days ago: the busy one
    # stays at the top of the folders): their names and dates in the reports.
    aoife = ContactFactory(organization=org, first_name="Aoife", last_name="Ivanov", email="aoife.ivanov@example.com")
    ordinary = EmailFactory(
        organization=org, sender=rep_user, subject="Quarterly review", sent_at=now - dt.timedelta(days=2)
    )
    for contact, opened in [(aoife, [3, 2, 1]), (long, [1])]:
        to = EmailRecipientFactory(email=ordinary, contact=contact, address=contact.email)
        add_opens(to, [now - dt.timedelta(days=d) for d in opened])
    # Sent from Aoife's rep's own email client (found by the mailbox sync):
    # not tracked, its reason beside the eye on her timeline.
    client = EmailFactory(
        organization=org,
        sender=rep_user,
        subject="Re: pricing for the spring order",
        source=Email.Source.CLIENT,
        sent_at=now - dt.timedelta(days=3),
    )
    EmailRecipientFactory(email=client, contact=aoife, address=aoife.email, track_opens=False)
    return {"contact": long, "email": email, "failed": failed, "aoife": aoife, "ordinary": ordinary}


def _pages(data) -> dict[str, str]:
    contact, email, failed = data["contact"].pk, data["email"].pk, data["failed"].pk
    return {
        "contacts": "/contacts/",
        "contacts-search": "/contacts/?q=Ivanov",  # with Clear beside Search
        "contacts-last-opened": "/contacts/?sort=last_opened",
        "contact-new": "/contacts/new/",
        "contact": f"/contacts/{contact}/",
        "contact-email-tab": f"/contacts/{contact}/?tab=email",
        "contact-aoife": f"/contacts/{data['aoife'].pk}/",
        "contact-aoife-email-tab": f"/contacts/{data['aoife'].pk}/?tab=email",
        "contact-edit": f"/contacts/{contact}/edit/",
        "contact-delete": f"/contacts/{contact}/delete/",
        "contact-ask-consent": f"/email/ask-consent/{contact}/",
        "sent": "/email/",
        "open-tracking": "/email/open-tracking/",
        "failed": "/email/failed/",
        "compose": f"/email/compose/?contact={contact}",
        "email": f"/email/{email}/",
        "email-ordinary": f"/email/{data['ordinary'].pk}/",
        "failed-email": f"/email/{failed}/",
        "activity": "/activity/",  # the feed: the long name's line first
        "reports": "/reports/",  # the rep's own outreach: its chart and tables
        "settings": "/settings/",
        "profile": "/settings/profile/",
        "password": "/accounts/password_change/",
        "plan": "/settings/plan/",
        "notifications-settings": "/alerts/settings/",
        "email-configuration": "/settings/email-configuration/",
        "email-sync": "/settings/email-sync/",
        "outbox": "/dev/outbox/",
        # The recipient's own page (no login needed; the long name stretches it).
        "preference": reverse("privacy_public:preference", args=[links.make_token(contact)]),
        "not-found": "/no/such/page/",
    }


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_is_wider_than_the_screen(page, a_busy_day, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    too_wide = {}
    for name, url in _pages(a_busy_day).items():
        page.goto(url)
        scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
        screenshot(page, f"layout-{width}-{name}")
        if scroll_width > width:
            too_wide[name] = scroll_width
    assert too_wide == {}


# What a person would see as broken, measured in the page:
# - outside: a box (of the page or of an open report) reaching past the
#   screen's left or right edge, or a line of a report past the report's box;
# - broken: a word whose letters sit on two lines ("Ed / it"). A word breaks
#   where it has a hyphen, a dash or a slash; the check splits there. A token
#   longer than LONG_TOKEN characters (the 100-character name without
#   spaces, a long address, an SMTP error) may wrap by design: the pages
#   break it rather than widen the screen;
# - wrapped: a button or a link-like button (the searchbar's Clear, a tab, a
#   report's summary) whose label takes more than one line.
LONG_TOKEN = 30
READ_AS_A_PERSON = r"""(longToken) => {
  const width = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const shown = (el) => el.checkVisibility({visibilityProperty: true}) && !el.closest(".visually-hidden");
  const lines = (rects) => {
    const tops = [];
    for (const r of rects) {
      if (r.width < 0.5 || r.height < 0.5) continue;
      if (!tops.some((t) => Math.abs(t - r.top) < r.height / 2)) tops.push(r.top);
    }
    return tops.length;
  };
  const range = document.createRange();

  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    if (r.left < -0.5 || r.right > width + 0.5) {
      const parent = el.parentElement.getBoundingClientRect();
      if (parent.left < -0.5 || parent.right > width + 0.5) continue;  // its parent is named already
      outside.push(`${name(el)} from ${Math.round(r.left)} to ${Math.round(r.right)} px`);
    }
  }

  // An open report's lines stay inside the report's box.
  for (const report of document.querySelectorAll(".open-report")) {
    if (!shown(report)) continue;
    const box = report.getBoundingClientRect();
    for (const el of report.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (shown(el) && r.width >= 1 && (r.left < box.left - 0.5 || r.right > box.right + 0.5)) {
        outside.push(`${name(el)} from ${Math.round(r.left)} to ${Math.round(r.right)} px, out of its report`);
      }
    }
  }

  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("script, style, select, textarea") || !shown(el)) continue;
    for (const m of node.data.matchAll(/[^\s\-\u2010-\u2015\/]+/g)) {
      const word = m[0];
      if (word.length < 2 || word.length > longToken) continue;
      range.setStart(node, m.index);
      range.setEnd(node, m.index + word.length);
      if (lines(range.getClientRects()) > 1) broken.push(`"${word}" in ${name(el)}`);
    }
  }

  const wrapped = [];
  const buttons = "button, .btn, input[type=submit], .searchbar a, .tabs a, summary";
  for (const el of document.body.querySelectorAll(buttons)) {
    if (!shown(el)) continue;
    const rects = [];
    const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      if (!node.data.trim() || node.parentElement.closest(".visually-hidden")) continue;
      range.selectNodeContents(node);
      rects.push(...range.getClientRects());
    }
    if (lines(rects) > 1) wrapped.push(`"${el.textContent.trim().replace(/\s+/g, " ")}" (${name(el)})`);
  }
  return {outside, broken: [...new Set(broken)], wrapped: [...new Set(wrapped)]};
}"""


def _read(page) -> dict[str, list[str]]:
    found = page.evaluate(READ_AS_A_PERSON, LONG_TOKEN)
    return {kind: items for kind, items in found.items() if items}


def _open_each(page, summaries: str, loaded: str):
    """Open each report (a <details> whose report htmx loads on opening) in
    turn, yield when it has loaded, then close it."""
    for i in range(page.locator(summaries).count()):
        summary = page.locator(summaries).nth(i)
        summary.click()
        summary.locator("xpath=..").locator(loaded).wait_for()
        yield i
        summary.click()


# Where the reports are, how to open them, and what shows they have loaded.
REPORTS = {
    # The bell's panel (alerts), from the top bar of every page: here the contacts list's.
    "contacts": (".bell > summary", ".bell-panel .bell-head"),
    "sent": (".report-pop > summary", ".report-body .open-report"),
    "open-tracking": (".report-pop > summary", ".report-body .open-report"),
    "contact-email-tab": (".report-inline > summary", ".report-slot .open-report"),
    "contact-aoife-email-tab": (".report-inline > summary", ".report-slot .open-report"),
    # The outreach's tables ("Show as table" and the others), each a <details>.
    "reports": (".outreach-table > summary", "table"),
    # The reading times' "Show as table" (tracking.reading_times).
    "contact": (".chart-table > summary", "table"),
    "contact-aoife": (".chart-table > summary", "table"),
}


@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_and_report_reads_whole(page, a_busy_day, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    problems = {}
    for name, url in _pages(a_busy_day).items():
        page.goto(url)
        screenshot(page, f"layout-{width}-{name}")
        if found := _read(page):
            problems[name] = found
        if name in REPORTS:
            opened = 0
            for i in _open_each(page, *REPORTS[name]):
                opened += 1
                screenshot(page, f"report-{width}-{name}-{i}")
                if found := _read(page):
                    problems[f"{name}, report {i + 1}"] = found
            assert opened, f"no open report on {name}"
        elif name in ("email", "email-ordinary"):
            assert page.locator("#open-report .open-report").is_visible()
            # The opens over time's "Show as table" (tracking.timeline_chart).
            page.click("#opens-over-time-table > summary")
            page.locator("#opens-over-time-table table").wait_for()
            screenshot(page, f"report-{width}-{name}")
            if found := _read(page):
                problems[f"{name}, opens over time's table"] = found
    # The admin's pages (System names every dependency).
    page.context.clear_cookies()
    sign_in(page, "ada")
    admin_pages = {
        "settings-admin": "/settings/",
        "system": "/settings/system/",
        "notifications-admin": "/alerts/settings/",
        "reports-admin": "/reports/?weeks=52",  # everyone's, a year of weeks
    }
    for name, url in admin_pages.items():
        page.goto(url)
        screenshot(page, f"layout-{width}-{name}")
        if found := _read(page):
            problems[name] = found
    assert not problems, pformat(problems, width=120)


def test_the_checks_see_what_a_person_sees(page, db):
    """The checks above catch each fault on a page made to have it."""
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/accounts/login/")
    page.evaluate(  # styles set from script: the CSP refuses style attributes
        """() => {
        const add = (tag, id, text, style) => {
            const el = document.createElement(tag);
            el.id = id;
            el.textContent = text;
            Object.assign(el.style, style);
            document.body.append(el);
        };
        add("p", "squeezed", "Database", {width: "40px"});
        add("div", "off", "Report", {position: "absolute", left: "-200px", width: "100px"});
        add("button", "tall", "Search", {width: "30px"});
        add("p", "long", "x".repeat(40), {width: "40px"});
    }"""
    )
    found = page.evaluate(READ_AS_A_PERSON, LONG_TOKEN)
    assert found["outside"] == ["div#off from -200 to -100 px"]
    assert '"Database" in p#squeezed' in found["broken"]
    assert found["wrapped"] == ['"Search" (button#tall)']
    assert not any("xxx" in word for word in found["broken"])  # a long token may wrap


def test_sign_in_page_fits_a_phone(page, db):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/accounts/login/")
    screenshot(page, "layout-390-login")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390


def test_an_admins_top_bar_links_sit_on_one_line_on_a_phone(page, org, admin_user):
    """All five (Contacts to Settings): "Settings" used to wrap alone onto a third line."""
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, admin_user.username)
    tops = page.evaluate("[...document.querySelectorAll('nav.mainnav a')].map(a => a.getBoundingClientRect().top)")
    assert len(tops) == 5 and len(set(tops)) == 1, tops
    screenshot(page, "layout-390-topbar")


AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_has_a_serious_accessibility_violation(chromium, live_server, a_busy_day, width):
    if not AXE.exists():
        pytest.fail("axe-core is missing: make test installs it (npm ci)")
    # The checker is injected as a script of its own: past the pages' CSP.
    context = chromium.new_context(base_url=live_server.url, bypass_csp=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, "rex")
        found = {}
        for name, url in {**_pages(a_busy_day), "sign-in": "/accounts/login/"}.items():
            if name == "sign-in":
                context.clear_cookies()
            page.goto(url)
            # Every chart's table shown too (a <details> opened by a click).
            page.evaluate("document.querySelectorAll('details.chart-table').forEach((d) => { d.open = true; })")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(SERIOUS)
            if violations:
                found[name] = violations
        assert found == {}
    finally:
        context.close()


def test_the_open_report_opens_from_the_keyboard(page, a_busy_day):
    sign_in(page, "rex")
    page.goto("/email/open-tracking/")
    for _ in range(40):  # Tab through the page until the report's summary has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.report-pop > summary') !== null"):
            break
    else:
        pytest.fail("the open report cannot be reached with Tab")
    assert "Opened 15 times" in page.evaluate("document.activeElement.textContent + document.activeElement.innerHTML")
    page.keyboard.press("Enter")
    assert page.locator(".report-pop .report-body").first.is_visible()
    page.locator(".report-pop .report-body .open-report").first.wait_for()  # loaded on opening (htmx)


@pytest.fixture
def read_after_a_prefetch(org, rep_user, a_busy_day):
    """Apple's prefetch on delivery and Aoife's reading two days later, and
    an open counted in the email's total only."""
    sent = timezone.now() - dt.timedelta(days=3)
    aoife = a_busy_day["aoife"]
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order", sent_at=sent)
    to_aoife = EmailRecipientFactory(email=email, contact=aoife, address=aoife.email, delivered_at=sent)
    add_opens(to_aoife, [sent + dt.timedelta(seconds=1)], verdict=Verdict.PRIVACY_PREFETCH)
    add_opens(to_aoife, [sent + dt.timedelta(days=2, hours=1)])
    nina = ContactFactory(organization=org, first_name="Nina", last_name="Newlead", email="nina@new.example")
    to_nina = EmailRecipientFactory(email=email, contact=nina, address=nina.email, aggregate_only=True)
    add_opens(to_nina, [sent + dt.timedelta(hours=5)])
    return email


@pytest.mark.parametrize("width", [390, 1280])
def test_the_opens_over_time_reads_whole_with_its_table_open(page, chromium, live_server, read_after_a_prefetch, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    page.goto(f"/email/{read_after_a_prefetch.pk}/")
    chart = page.locator("svg.opens-chart")
    assert "Aoife Ivanov opened once, last 2 days after the send; 1 automatic fetch" in chart.get_attribute(
        "aria-label"
    )
    assert chart.bounding_box()["width"] <= width
    assert not page.locator("#opens-over-time-table table").is_visible()
    page.click("#opens-over-time-table > summary")  # no script: a <details>
    rows = page.locator("#opens-over-time-table tbody tr")
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())] == [
        "Automatic: Apple Mail privacy protection",
        "Opened",
        "1 open",
    ]
    assert page.locator("svg.opens-chart .mark").count() == 2
    screenshot(page, f"chart-{width}-opens-over-time")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    assert not _read(page)

    context = chromium.new_context(base_url=live_server.url, bypass_csp=True, viewport={"width": width, "height": 900})
    try:
        axe_page = context.new_page()
        sign_in(axe_page, "rex")
        axe_page.goto(f"/email/{read_after_a_prefetch.pk}/")
        axe_page.click("#opens-over-time-table > summary")
        axe_page.add_script_tag(path=str(AXE))
        assert axe_page.evaluate(SERIOUS) == []
    finally:
        context.close()
