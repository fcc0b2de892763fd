"""The Open tracking folder's "Opened more than N times": a count that is no
whole number of 0 or more is an error next to the box, in words, and the list
is shown without that filter; never a 500."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tracking.tests.open_helpers import email_with_opens, minutes_ago

pytestmark = pytest.mark.django_db

OPEN_TRACKING = reverse("emails:open_tracking")
WHOLE_NUMBER = "Opened more than: enter a whole number of times, such as 3."


@pytest.fixture
def emails(org, rep_user):
    now = timezone.now()
    email_with_opens(organization=org, sender=rep_user, subject="Hot lead", opens=minutes_ago(now, *range(1, 7)))
    email_with_opens(organization=org, sender=rep_user, subject="Opened once", opens=minutes_ago(now, 1))


def _subjects(response) -> list[str]:
    return [e.subject for e in response.context["page"].object_list]


def _errors(response) -> list[str]:
    return re.findall(r'<p class="error" role="alert" id="more-than-error">(.*?)</p>', response.content.decode())


@pytest.mark.parametrize(
    "typed, error",
    [
        ("-5", "Opened more than: enter 0 or more."),
        ("abc", WHOLE_NUMBER),
        ("1.5", WHOLE_NUMBER),
        ("1e3", WHOLE_NUMBER),
        ("99999999999999999999", "Opened more than: enter at most 1,000,000."),
    ],
)
def test_a_count_that_is_no_whole_number_of_0_or_more_is_an_error_next_to_the_box(rep_client, emails, typed, error):
    response = rep_client.get(OPEN_TRACKING, {"more_than": typed})
    assert response.status_code == 200
    assert _errors(response) == [error]
    page = response.content.decode()
    # What was typed stays in the box, marked as the one in error.
    assert re.search(rf'name="more_than"[^>]*value="{re.escape(typed)}"[^>]*aria-invalid="true"', page)
    # The list is shown, not filtered by the count; "Clear" takes the box back.
    assert sorted(_subjects(response)) == ["Hot lead", "Opened once"]
    assert ">Clear</a>" in page


def test_the_other_filters_still_apply_beside_a_bad_count(rep_client, emails):
    response = rep_client.get(OPEN_TRACKING, {"more_than": "-5", "q": "once"})
    assert _subjects(response) == ["Opened once"]
    assert _errors(response) == ["Opened more than: enter 0 or more."]


@pytest.mark.parametrize("typed, subjects", [("3", ["Hot lead"]), (" 0 ", ["Opened once", "Hot lead"]), ("", None)])
def test_a_whole_number_filters_without_an_error(rep_client, emails, typed, subjects):
    response = rep_client.get(OPEN_TRACKING, {"more_than": typed})
    assert _errors(response) == []
    assert 'aria-invalid="true"' not in response.content.decode()
    if subjects:
        assert sorted(_subjects(response)) == sorted(subjects)
