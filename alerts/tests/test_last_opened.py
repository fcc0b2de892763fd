"""The contacts list's Last opened (contacts.last_opened, filled by alerts):
each contact's latest open by name over every email, shown as the contact's
Email tab would (never for opens counted in the total only, a machine's
fetches, or a contact never tracked), and a sort by it: newest first, the
contacts never opened last; the same queries for 3 contacts as for 30."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking.hits import Open
from tracking.models import Verdict
from tracking.tests.open_helpers import add_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def contact(org, first: str, **fields) -> Contact:
    return ContactFactory(organization=org, first_name=first, last_name="Person", email=f"{first}@x.example", **fields)


def sent_to(person: Contact, sender, **fields):
    email = EmailFactory(organization=person.organization, sender=sender)
    return EmailRecipientFactory(email=email, contact=person, address=person.email, **fields)


def rows(response) -> list[tuple[str, str]]:
    """(name, Last opened) of each row, as a person reads them."""
    page = response.content.decode()
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        found.append((cells[0], cells[-1]))
    return found


def test_the_list_shows_each_contacts_latest_open_over_all_their_emails(rep_client, org, rep_user):
    ann = contact(org, "Ann")
    add_opens(sent_to(ann, rep_user), [ago(days=3)])
    add_opens(sent_to(ann, rep_user), [ago(hours=2)])
    contact(org, "Bob")

    assert rows(rep_client.get(LIST)) == [("Ann Person", "Opened 2 hours ago"), ("Bob Person", "—")]
    assert ">Last opened</th>" in rep_client.get(LIST).content.decode()


def test_opens_not_by_name_never_show(rep_client, org, rep_user):
    total_only = contact(org, "Tara", country="")
    recipient = sent_to(total_only, rep_user, aggregate_only=True)
    assert write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=ago(minutes=5), key="agg")]) == 1
    machine = contact(org, "Max")
    add_opens(sent_to(machine, rep_user), [ago(minutes=4)], verdict=Verdict.SCANNER)
    refused = contact(org, "Rita", open_tracking=Contact.OpenTracking.REFUSED)
    sent_to(refused, rep_user, track_opens=False, not_tracked_reason="contact_refused")

    assert rows(rep_client.get(LIST)) == [("Max Person", "—"), ("Rita Person", "—"), ("Tara Person", "—")]


def test_sorted_by_last_opened_the_latest_come_first_and_the_never_opened_last(rep_client, org, rep_user):
    for first, hours in [("Ann", 5), ("Bob", None), ("Cid", 1), ("Dee", None), ("Eve", 30)]:
        person = contact(org, first)
        if hours is not None:
            add_opens(sent_to(person, rep_user), [ago(hours=hours)])

    response = rep_client.get(LIST, {"sort": "last_opened"})

    assert [name for name, _ in rows(response)] == [
        "Cid Person",
        "Ann Person",
        "Eve Person",
        "Bob Person",
        "Dee Person",
    ]
    assert 'aria-current="true">Last opened</a>' in response.content.decode()


def test_the_sort_is_kept_by_the_search_and_the_pages(rep_client, org, rep_user):
    for n in range(30):
        add_opens(sent_to(contact(org, f"P{n:02d}"), rep_user), [ago(minutes=n + 1)])

    first = rep_client.get(LIST, {"sort": "last_opened"}).content.decode()
    assert 'name="sort" value="last_opened"' in first
    assert "sort=last_opened&amp;page=2" in first
    second = rep_client.get(LIST, {"sort": "last_opened", "page": 2})
    assert [name for name, _ in rows(second)] == [f"P{n} Person" for n in range(25, 30)]


@pytest.mark.parametrize("sort", ["", "<script>", "last_opened'--", "name"])
def test_an_odd_sort_is_the_list_by_name(rep_client, org, rep_user, sort):
    contact(org, "Bob")
    add_opens(sent_to(contact(org, "Zed"), rep_user), [ago(minutes=1)])
    response = rep_client.get(LIST, {"sort": sort})
    assert response.status_code == 200
    assert [name for name, _ in rows(response)] == ["Bob Person", "Zed Person"]


@pytest.mark.parametrize("count", [3, 30])
def test_the_same_queries_for_3_contacts_as_for_30(rep_client, org, rep_user, count, django_assert_num_queries):
    for n in range(count):
        add_opens(sent_to(contact(org, f"P{n}"), rep_user), [ago(minutes=n + 1)])
    # Session, user, membership with its organization; the count; the page
    # with each contact's latest open.
    with django_assert_num_queries(5):
        rep_client.get(LIST, {"sort": "last_opened"})
