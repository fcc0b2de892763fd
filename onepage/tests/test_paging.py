import pytest

from emails.models import Email
from emails.tests.factories import EmailFactory
from onepage.paging import page_number, slice_page

pytestmark = pytest.mark.django_db


def test_slice_page_knows_the_next_page_without_counting(org, rep_user, django_assert_num_queries):
    EmailFactory.create_batch(6, organization=org, sender=rep_user)
    emails = Email.objects.filter(organization=org)
    with django_assert_num_queries(1):
        first = slice_page(emails, number=1, per_page=4)
    assert len(first.object_list) == 4 and first.has_next and not first.has_previous
    second = slice_page(emails, number=2, per_page=4)
    assert len(second.object_list) == 2 and not second.has_next and second.has_previous
    assert (second.start_index, second.end_index) == (5, 6)
    assert page_number("abc") == 1 and page_number("-3") == 1
