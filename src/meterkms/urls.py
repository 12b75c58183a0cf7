"""Root URL configuration: web UI, API, health check."""

from __future__ import annotations

from django.urls import include, path

from meterkms.api.api import api
from meterkms.web.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("meterkms.web.urls")),
]

handler404 = "meterkms.web.views.errors.not_found"
handler403 = "meterkms.web.views.errors.forbidden"
handler500 = "meterkms.web.views.errors.server_error"
