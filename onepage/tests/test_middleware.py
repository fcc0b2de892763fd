"""OrganizationMiddleware: the organization and its plan's features on the
request, and the Business-only check."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration
from emails.tests.factories import MailboxFactory
from onepage.decorators import admin_required, business_only
from onepage.middleware import OrganizationMiddleware
from onepage.models import Organization
from onepage.plans import Features
from onepage.services import organization_plan_change

pytestmark = pytest.mark.django_db


def _through_middleware(rf, user, view, path="/contacts/", method="get"):
    request = getattr(rf, method)(path)
    request.user = user
    middleware = OrganizationMiddleware(lambda r: middleware.process_view(r, view, (), {}) or view(r))
    return middleware(request)


def test_organization_and_its_features_come_with_one_query(rf, rep_user, org, django_assert_num_queries):
    seen = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["organization"] = request.organization
        seen["features"] = request.organization.features
        seen["role"] = request.membership.role
        return HttpResponse()

    with django_assert_num_queries(1):
        _through_middleware(rf, rep_user, view)
    assert seen == {"organization": org, "features": Features(open_tracking=True), "role": "rep"}


def test_professional_organization_has_no_open_tracking_feature(rf, rep_user, org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    seen = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["open_tracking"] = request.organization.features.open_tracking
        return HttpResponse()

    _through_middleware(rf, rep_user, view)
    assert seen["open_tracking"] is False


def test_email_configuration_is_created_only_when_a_page_reads_it(rep_client, org):
    rep_client.get(reverse("contacts:list"))
    assert not EmailConfiguration.objects.exists()

    rep_client.get(reverse("email_configuration"))
    assert EmailConfiguration.objects.filter(organization=org, allow_open_tracking=False).count() == 1


def test_pixel_path_resolves_nothing(rf, rep_user, django_assert_num_queries):
    seen = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["org"], seen["membership"] = request.organization, request.membership
        return HttpResponse()

    with django_assert_num_queries(0):
        _through_middleware(rf, rep_user, view, path="/o/abc.gif")
    assert seen == {"org": None, "membership": None}


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


# The mark must hold whichever order the decorators are stacked in.
STACKS = {
    "business_only": business_only(_ok),
    "business_only-over-admin_required": business_only(admin_required(require_POST(_ok))),
    "admin_required-over-business_only": admin_required(require_POST(business_only(_ok))),
}


@pytest.mark.parametrize("view", STACKS.values(), ids=STACKS.keys())
def test_business_only_view_shows_professional_organizations_the_upgrade_page(rf, admin_user, org, view):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    response = _through_middleware(rf, admin_user, view, method="post")
    assert response.status_code == 403
    assert b"Upgrade to Business to use open tracking" in response.content
    assert reverse("plan").encode() in response.content


@pytest.mark.parametrize("view", STACKS.values(), ids=STACKS.keys())
def test_business_only_view_runs_for_business_organizations(rf, admin_user, org, view):
    response = _through_middleware(rf, admin_user, view, method="post")
    assert (response.status_code, response.content) == (200, b"done")


def test_upgrade_page_tells_a_rep_to_ask_an_admin(rep_client, org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    response = rep_client.post(reverse("email_configuration_change"), {"allow_open_tracking": "on"})
    assert response.status_code == 403
    assert b"Ask one of your organization" in response.content
    assert b"See plans" not in response.content


def test_plan_banner_on_timelines_of_professional_organizations(rep_client, org, admin_user):
    contact = ContactFactory(organization=org)
    url = reverse("contacts:detail", args=[contact.pk])
    assert b'id="plan-banner"' not in rep_client.get(url).content

    organization_plan_change(organization=org, actor=admin_user, plan=Organization.Plan.PROFESSIONAL)
    response = rep_client.get(url)
    assert b'id="plan-banner"' in response.content
    assert b"so new emails are not tracked" in response.content
    assert b"Opens recorded before the switch stay visible" in response.content


def test_an_organization_that_was_never_on_business_hears_nothing_about_earlier_opens(rep_client, org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    response = rep_client.get(reverse("emails:open_tracking"))
    assert b"so new emails are not tracked" in response.content
    assert b"before the switch" not in response.content
    # Its empty folder speaks of the plan, not of a Track switch it does not have.
    assert b"Open tracking is a Business plan feature" in response.content
    assert b"<strong>Track</strong> on" not in response.content


def test_plan_banner_on_the_email_page_not_on_the_contact_list(rep_client, rep_user, org):
    MailboxFactory(user=rep_user)
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    assert b'id="plan-banner"' in rep_client.get(reverse("emails:index")).content
    assert b'id="plan-banner"' not in rep_client.get(reverse("contacts:list")).content
    # The composer says it in its own words, by the Track toggle's place.
    assert b'id="plan-banner"' not in rep_client.get(reverse("emails:compose")).content
