"""The role matrix (README, "Who may do what"), walked over every URL pattern
the resolver knows: as a rep and as an admin, with the objects of self, of a
colleague and of another organization, by GET and by POST. Each request gets
the status the matrix says, and where it may change nothing (a refusal, a
404, a form sent empty, a page read), no row of the tables below changes, no
development copy is written and no task is queued.

A URL pattern without an expectation here fails the first test: a new URL
cannot slip past the matrix. The Django admin (/admin/) is for staff, which
neither role is: every one of its patterns is walked by the last test."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from alerts.models import EmailMute, Notification
from contacts import links
from contacts.models import ConsentRecord, Contact, ContactActivity, ContactErasure
from contacts.tests.factories import ContactFactory
from emails import pixels
from emails.models import Email, EmailConfiguration, EmailRecipient, Mailbox, MailboxFolder
from emails.outbox import DevelopmentOutboxBackend, outbox_messages
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory
from onepage.models import Membership, Organization, SettingChange, User
from onepage.tests.factories import MembershipFactory
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db

ROLES = ("rep", "admin")
OWN, COLLEAGUE, OTHER = "own", "colleague", "other"
OWNERS = (OWN, COLLEAGUE, OTHER)
NO_OBJECT = "-"


@dataclass(frozen=True)
class Pattern:
    key: str  # its name with namespace, or its route when it has none
    route: str
    name: str | None


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = namespace + pattern.name if pattern.name else None
            yield Pattern(key=name or route, route=route, name=name)


ALL_PATTERNS = list(_walk(get_resolver().url_patterns))
DJANGO_ADMIN = [p for p in ALL_PATTERNS if p.route.startswith("admin/")]
OURS = sorted({p.key for p in ALL_PATTERNS if not p.route.startswith("admin/")})


# --- The objects ----------------------------------------------------------


@dataclass
class Objects:
    """One member's things: a contact, a failed email to it, a sent email
    with a copy whose delivery is uncertain, that copy's development outbox
    copy, the pixel's token and the contact's preference link token."""

    user: User
    contact: Contact
    failed: Email
    sent: Email
    uncertain: EmailRecipient
    outbox_key: str = ""
    pixel_token: str = field(init=False)
    preference_token: str = field(init=False)

    def __post_init__(self) -> None:
        self.pixel_token = pixels.make_token(self.uncertain.pk)
        self.preference_token = links.make_token(self.contact.pk)


def _objects_of(user: User) -> Objects:
    organization = user.membership.organization
    MailboxFactory(user=user)
    contact = ContactFactory(organization=organization)
    failed = EmailFactory(organization=organization, sender=user, status=Email.Status.FAILED, sent_at=None, error="550")
    EmailRecipientFactory(email=failed, contact=contact)
    sent = EmailFactory(organization=organization, sender=user)
    uncertain = EmailRecipientFactory(email=sent, contact=contact, delivery_uncertain_at=timezone.now())
    objects = Objects(user=user, contact=contact, failed=failed, sent=sent, uncertain=uncertain)
    backend = DevelopmentOutboxBackend(organization_id=organization.pk, email_id=sent.pk)
    backend.send_messages([EmailMessage("Copy", "Hello", user.email, [contact.email])])
    objects.outbox_key = next(m.key for m in outbox_messages(organization.pk) if m.email_id == sent.pk)
    return objects


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Three users a test, each hashed at the production cost, took most of its time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(org, other_org, rep_user, admin_user) -> dict[str, dict[str, Objects]]:
    """For each role: its own objects, a colleague's and another organization's."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    EmailConfigurationFactory(organization=other_org, allow_open_tracking=True)
    rex, ada = _objects_of(rep_user), _objects_of(admin_user)
    zed = _objects_of(MembershipFactory(organization=other_org, role="admin", user__username="zed").user)
    return {"rep": {OWN: rex, COLLEAGUE: ada, OTHER: zed}, "admin": {OWN: ada, COLLEAGUE: rex, OTHER: zed}}


# --- The matrix -------------------------------------------------------------

Statuses = int | frozenset[int]


def seen(*, own: Statuses = 200, colleague: Statuses | None = None, other: Statuses = 404) -> dict[str, Statuses]:
    """By whose object: a colleague's answers like one's own unless said."""
    return {OWN: own, COLLEAGUE: own if colleague is None else colleague, OTHER: other}


@dataclass(frozen=True)
class Expect:
    """What a pattern answers: per method, per role (or both), per owner
    (or NO_OBJECT for a URL that names no object). `changes` lists the
    (role, owner, method) allowed to change something; every other request
    must leave the database, the outbox and the task queue as they were."""

    kwargs: Callable[[Objects], dict] | None = None
    get: object = 200
    post: object = 405
    changes: frozenset[tuple[str, str, str]] = frozenset()

    def status(self, method: str, role: str, owner: str) -> frozenset[int]:
        by = self.get if method == "GET" else self.post
        if isinstance(by, dict) and set(by) <= set(ROLES):
            by = by[role]
        if isinstance(by, dict):
            by = by[owner]
        return by if isinstance(by, frozenset) else frozenset([by])


def changes(*entries: str) -> frozenset[tuple[str, str, str]]:
    """ "admin POST own", or "* POST own" for both roles."""
    allowed = set()
    for entry in entries:
        role, method, owner = entry.split()
        for r in ROLES if role == "*" else (role,):
            allowed.add((r, owner, method))
    return frozenset(allowed)


def contact(o: Objects) -> dict:
    return {"pk": o.contact.pk}


def failed_email(o: Objects) -> dict:
    return {"pk": o.failed.pk}


def notification(o: Objects) -> dict:
    """The member's notification of a first open of their sent email (made
    once, before the request's snapshot)."""
    made = Notification.objects.filter(user=o.user).first()
    if made is None:
        now = timezone.now()
        key = f"matrix-{o.user.pk}"
        OpenEvent.objects.create(email=o.sent, recipient=o.uncertain, opened_at=now, hit_key=key)
        made = Notification.objects.create(
            user=o.user,
            organization=o.sent.organization,
            email=o.sent,
            recipient=o.uncertain,
            kind=Notification.Kind.FIRST_OPEN,
            open_id=key,
            opened_at=now,
            last_opened_at=now,
        )
    return {"pk": made.pk}


ADMINS_ONLY = {"rep": 403}
PAGE = Expect(get=200, post=200)  # a page that does not check the method: a POST only reads
FORM = Expect(get=200, post=200)  # a form sent empty: its errors, nothing saved
EITHER = frozenset  # more than one answer is right (healthz: the environment's health)

EXPECTATIONS: dict[str, Expect] = {
    "home": Expect(get=302, post=302),
    "login": FORM,
    "logout": Expect(get=405, post=302),
    "password_change": FORM,
    "password_change_done": Expect(get=200, post=405),
    "password_reset": FORM,
    "password_reset_done": Expect(get=200, post=405),
    "password_reset_confirm": Expect(kwargs=lambda o: {"uidb64": "MQ", "token": "set-password"}, get=200, post=200),
    "password_reset_complete": Expect(get=200, post=405),
    # Settings: each member's own page (profile, mailbox); the organization's are for admins.
    "settings": PAGE,
    "profile": FORM,
    "plan": Expect(get=200, post=405),
    "plan_change": Expect(get={"rep": 403, "admin": 405}, post={"rep": 403, "admin": 400}),
    "system": Expect(get={"rep": 403, "admin": 200}, post={"rep": 403, "admin": 405}),
    "healthz": Expect(get=EITHER({200, 503}), post=405),
    "favicon": Expect(get=301, post=405),
    "email_configuration": Expect(get=200, post=405),
    "email_configuration_change": Expect(get={"rep": 403, "admin": 405}, post={"rep": 403, "admin": 200}),
    "mailbox": Expect(get=200, post=EITHER({200, 400})),
    "mailbox_test": Expect(get=405, post=EITHER({200, 400})),
    "mailbox_sync": Expect(get=405, post=302),
    "mailbox_disconnect": Expect(get=200, post=302, changes=changes("* POST -")),
    # The development outbox (DEBUG only): read-only, organization-wide.
    "dev_outbox": PAGE,
    "dev_outbox_message": Expect(kwargs=lambda o: {"key": o.outbox_key}, get=seen(), post=seen()),
    "dev_outbox_raw": Expect(kwargs=lambda o: {"key": o.outbox_key}, get=seen(), post=seen()),
    # Contacts: every member sees and edits the organization's.
    "contacts:list": PAGE,
    "contacts:create": FORM,
    "contacts:detail": Expect(kwargs=contact, get=seen(), post=seen()),
    "contacts:edit": Expect(kwargs=contact, get=seen(), post=seen(own=EITHER({200, 400}))),
    # Emails: every member reads every teammate's; only the sender sends.
    "emails:index": PAGE,
    "emails:open_tracking": PAGE,
    "emails:failed": PAGE,
    "emails:queued": PAGE,
    "emails:compose": Expect(get=200, post=EITHER({200, 400})),
    "emails:compose_preview": Expect(get=405, post=200),
    "emails:detail": Expect(kwargs=failed_email, get=seen(), post=seen()),
    "emails:open_report": Expect(kwargs=failed_email, get=seen(), post=405),
    "emails:retry": Expect(
        kwargs=failed_email, get=405, post=seen(own=302, colleague=403), changes=changes("* POST own")
    ),
    "emails:resend_recipient": Expect(
        kwargs=lambda o: {"pk": o.sent.pk, "recipient_pk": o.uncertain.pk},
        get=405,
        post=seen(own=302, colleague=403),
        changes=changes("* POST own"),
    ),
    # The bell: each member's own notifications (a colleague's, another
    # organization's: 404); following a notification's link marks it read;
    # only the sender mutes an email (only the sender is told of its opens):
    # anyone else's email is a 404 (a form sent empty: 400, nothing saved).
    "alerts:panel": Expect(get=200, post=405),
    "alerts:count": Expect(get=200, post=405),
    # The live count (Server-Sent Events) streams under ASGI only: the test
    # client is WSGI, answered 204 (the page keeps polling).
    "alerts:stream": Expect(get=204, post=405),
    "alerts:read_all": Expect(get=405, post=302, changes=changes("* POST -")),
    "alerts:open": Expect(
        kwargs=notification, get=seen(own=302, colleague=404), post=405, changes=changes("* GET own")
    ),
    "alerts:mute": Expect(kwargs=lambda o: {"pk": o.sent.pk}, get=405, post=seen(own=400, colleague=404)),
    # Each member's own Notifications settings (a form sent empty: nothing saved).
    "alerts:settings": FORM,
    # The activity feed: each member's own emails' opens (everyone's, ?who=everyone,
    # is for admins: alerts/tests/test_feed.py); it only reads.
    "activity:feed": Expect(get=200, post=405),
    # Reports: each member's own outreach (a teammate's, ?rep=, is for admins:
    # alerts/tests/test_outreach.py); it only reads, as its CSV files do.
    "reports:outreach": Expect(get=200, post=405),
    "reports:outreach_csv": Expect(kwargs=lambda o: {"table": "weeks"}, get=200, post=405),
    # A person's rights: erasing and exporting for admins; asking for consent
    # through one's own mailbox, for anyone.
    "privacy:erase": Expect(
        kwargs=contact,
        get={"rep": seen(own=403), "admin": seen()},
        post={"rep": seen(own=403), "admin": seen(own=302)},
        changes=changes("admin POST own", "admin POST colleague"),
    ),
    "privacy:export": Expect(kwargs=contact, get={"rep": seen(own=403), "admin": seen()}, post=405),
    "privacy:consent_request": Expect(kwargs=lambda o: {"contact_pk": o.contact.pk}, get=seen(), post=seen(own=400)),
    # The recipient's own links: the token is the key, whoever holds it,
    # signed in or not (an empty choice is refused; the pixel records an open).
    "privacy_public:preference": Expect(
        kwargs=lambda o: {"token": o.preference_token}, get=seen(other=200), post=seen(own=400, other=400)
    ),
    "tracking:pixel": Expect(
        kwargs=lambda o: {"token": o.pixel_token},
        get=seen(other=200),
        post=405,
        changes=changes("* GET own", "* GET colleague", "* GET other"),
    ),
}


# --- What must not change --------------------------------------------------

WATCHED = [
    Organization,
    Membership,
    User,
    SettingChange,
    Contact,
    ContactActivity,
    ConsentRecord,
    ContactErasure,
    Mailbox,
    MailboxFolder,
    EmailConfiguration,
    Email,
    EmailRecipient,
    OpenEvent,
    Notification,
    EmailMute,
]


def snapshot(settings) -> dict:
    """Every row of the watched tables, and the development outbox's files."""
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED}
    for user in rows["User"]:
        user.pop("last_login")  # each request signs in again
    outbox = settings.DEV_OUTBOX_DIR
    rows["outbox"] = sorted(str(p.relative_to(outbox)) for p in outbox.rglob("*")) if outbox.exists() else []
    return rows


def _url(pattern: Pattern, expect: Expect, objects: Objects | None) -> str:
    return reverse(pattern.name, kwargs=expect.kwargs(objects) if expect.kwargs else None)


def _pattern(key: str) -> Pattern:
    return next(p for p in ALL_PATTERNS if p.key == key)


def test_every_url_pattern_has_an_expectation():
    assert sorted(set(OURS) - set(EXPECTATIONS)) == [], "URL patterns the role matrix does not know"
    assert sorted(set(EXPECTATIONS) - set(OURS)) == [], "expectations for URL patterns that are gone"
    assert all(p.name for p in ALL_PATTERNS if p.key in EXPECTATIONS)


@pytest.mark.parametrize("key", OURS)
@pytest.mark.parametrize("role", ROLES)
def test_the_role_matrix(role, key, world, settings, django_capture_on_commit_callbacks):
    # The development outbox answers only with DEBUG on.
    settings.DEBUG = key.startswith("dev_outbox")
    expect = EXPECTATIONS[key]
    pattern = _pattern(key)
    user = world[role][OWN].user
    client = Client()
    failures = []
    for owner in OWNERS if expect.kwargs else (NO_OBJECT,):
        for method in ("GET", "POST"):
            url = _url(pattern, expect, world[role][owner] if expect.kwargs else None)
            client.force_login(user)
            before = snapshot(settings)
            with django_capture_on_commit_callbacks() as queued:
                response = getattr(client, method.lower())(url)
            wanted = expect.status(method, role, owner)
            if response.status_code not in wanted:
                failures.append(f"{method} {url} ({owner}): {response.status_code}, not {sorted(wanted)}")
            if (role, owner, method) not in expect.changes:
                after = snapshot(settings)
                changed = sorted(name for name in before if before[name] != after[name])
                if changed or queued:
                    failures.append(f"{method} {url} ({owner}) changed {changed}, queued {len(queued)} tasks")
    assert failures == []


def _admin_url(pattern: Pattern) -> str:
    if pattern.name:
        values = {"object_id": "1", "content_type_id": "1", "id": "1", "app_label": "contacts"}
        names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern.route)
        return reverse(pattern.name, kwargs={a or b: values[a or b] for a, b in names})
    if pattern.route.endswith("(?P<url>.*)$"):
        return "/admin/no-such-page/"
    return "/" + re.sub(r"<path:object_id>", "1", pattern.route)


@pytest.mark.parametrize("role", ROLES)
def test_the_django_admin_is_for_staff_only(role, world, settings, django_capture_on_commit_callbacks):
    """Neither role is staff: every admin page sends them to its sign-in."""
    client = Client()
    failures = []
    assert len(DJANGO_ADMIN) > 50
    before = snapshot(settings)
    with django_capture_on_commit_callbacks() as queued:
        for pattern in DJANGO_ADMIN:
            url = _admin_url(pattern)
            for method in ("GET", "POST"):
                client.force_login(world[role][OWN].user)
                response = getattr(client, method.lower())(url)
                where = response.headers.get("Location", "")
                if pattern.name == "admin:login":
                    ok = response.status_code == 200
                elif pattern.name == "admin:logout":
                    ok = response.status_code == 302  # signed out, back to the admin's sign-in
                else:
                    # An object's bare URL redirects to its change page first (no data shown).
                    ok = response.status_code == 302 and (
                        where.startswith("/admin/login/") or where.endswith("/change/")
                    )
                if not ok:
                    failures.append(f"{method} {url}: {response.status_code} {where}")
    assert failures == []
    assert snapshot(settings) == before and queued == []


def test_role_rules_are_asked_of_one_place():
    """Views and templates ask onepage.permissions (the `may` filter) or
    emails.access, never the role itself: a rule changed there changes
    everywhere."""
    from django.conf import settings

    base = settings.BASE_DIR
    allowed = {base / "onepage" / "permissions.py", base / "onepage" / "models.py", base / "emails" / "access.py"}
    ad_hoc = re.compile(r"\.is_admin\b|membership\.role\b|\.sender_id\s*==|==\s*\w+\.sender_id")
    found = []
    for path in [*base.glob("*/**/*.py"), *(base / "templates").rglob("*.html")]:
        parts = path.relative_to(base).parts
        if parts[0] in {".venv", "node_modules", "var", "bench"} or "tests" in parts or "migrations" in parts:
            continue
        if path in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ad_hoc.search(line):
                found.append(f"{path.relative_to(base)}:{number}: {line.strip()}")
    assert found == []
