"""Test set-up for the accounts tests.

The password validators build lazily translated messages, which need Django settings. The
project's settings module is configured by pytest-django once it exists; until then (and
whenever no settings module is named) minimal settings without translation are used.
"""

import os

from django.conf import settings

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(USE_I18N=False)
