"""The web process's WSGI application: Django's handler, with the lanes the
apps registered (onepage.lanes: the tracking pixel's, /o/) in front of it,
in the same process and the same deployment."""

import os

from django.core.wsgi import get_wsgi_application

from onepage import lanes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")
# Sets Django up first: the apps' ready() register their lanes.
application = lanes.in_front_of(get_wsgi_application())
