"""The ASGI application with its static files, as Django's live server
serves them: for the Chromium test of the live channel only (production's
onepage-live serves the stream alone; nginx and the WSGI process the rest)."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from onepage.asgi import application as onepage

application = ASGIStaticFilesHandler(onepage)
