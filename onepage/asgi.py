"""The live process's ASGI application (the bell's Server-Sent Events, and
the lanes that answer in an event loop: the tracking pixel's, /o/, which
nginx sends here; onepage.lanes): Django's ASGI handler with those lanes in
front of it."""

import os

from django.core.asgi import get_asgi_application

from onepage import lanes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")
# Sets Django up first: the apps' ready() register their lanes.
application = lanes.asgi_in_front_of(get_asgi_application())
