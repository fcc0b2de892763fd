"""The pixel's lean path (tracking.middleware): /o/<token>.gif is answered
before the session, CSRF, authentication and organization middleware."""

import pytest

from emails.tests.factories import EmailRecipientFactory
from tracking.middleware import PixelMiddleware
from tracking.tests.test_pixel import assert_is_the_gif, pixel

pytestmark = pytest.mark.django_db


def test_the_pixel_middleware_comes_first(settings):
    assert settings.MIDDLEWARE[0] == "tracking.middleware.PixelMiddleware"


def test_a_session_cookie_costs_no_query_on_a_forged_pixel(rep_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = rep_client.get("/o/forged:token.gif")

    assert_is_the_gif(response)


@pytest.mark.parametrize("verdicts", [False, True], ids=["verdicts off", "verdicts on"])
def test_with_redis_a_signed_in_browser_opening_the_pixel_costs_no_query(
    rep_client, redis_stream, django_assert_num_queries, settings, org, verdicts
):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    settings.OPEN_VERDICTS = verdicts
    # A page of the app gives the browser its member cookie.
    rep_client.get("/settings/")
    assert "onepage_member" in rep_client.cookies

    with django_assert_num_queries(0):
        assert_is_the_gif(rep_client.get(pixel(recipient.pk), HTTP_USER_AGENT="Mozilla/5.0 (X11) Firefox/128.0"))

    ((_, fields),) = redis.xrange(stream)
    # The member cookie's organization rides with the signals, read without a query.
    assert fields["m"] == (str(org.pk) if verdicts else "")


def test_the_pixel_is_not_protected_by_csrf_nor_answers_posts(client):
    # As before the lean path: a POST is refused (require_safe), not recorded.
    response = client.post(pixel(EmailRecipientFactory().pk))

    assert response.status_code == 405


@pytest.mark.parametrize("path", ["/o/abc.gif/", "/o/a/b.gif", "/o/abc.png", "/xo/abc.gif"])
def test_other_paths_go_down_the_stack(rf, path):
    reached = []
    middleware = PixelMiddleware(lambda request: reached.append(request.path) or "rest of the stack")

    assert middleware(rf.get(path)) == "rest of the stack"
    assert reached == [path]


def test_without_the_middleware_the_url_still_serves_the_same_gif(client, settings):
    settings.MIDDLEWARE = settings.MIDDLEWARE[1:]

    assert_is_the_gif(client.get("/o/forged:token.gif"))
