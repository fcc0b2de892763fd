"""The peers' pixel (listmonk, Odoo mail_tracking, Postal), a few lines of
Django for bench/pixel_load.py: per hit, one INSERT of the open and one
UPDATE of the counter, synchronously, in one transaction, with persistent
connections and no middleware. Served by the same server as OnePage:

    DATABASE_URL=postgres://... granian --interface wsgi bench.peer_view:application
"""

import base64
import os

import environ
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def pixel(request, recipient_id: int):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_openevent (recipient_id, email_id, opened_at, verdict) "
            "SELECT id, email_id, %s, 'human' FROM emails_emailrecipient WHERE id = %s",
            [timezone.now(), recipient_id],
        )
        cursor.execute("UPDATE emails_emailrecipient SET open_count = open_count + 1 WHERE id = %s", [recipient_id])
    return HttpResponse(GIF, content_type="image/gif")


urlpatterns = [path("p/<int:recipient_id>.gif", pixel)]

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DATABASES={"default": {**environ.Env.db_url_config(os.environ["DATABASE_URL"]), "CONN_MAX_AGE": 60}},
)
application = get_wsgi_application()
