"""WSGI entry point (granian serves it; see `meterkms serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meterkms.settings")
application = get_wsgi_application()
