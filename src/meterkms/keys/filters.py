"""The filters of the download list, shared by the web list and ``GET /api/v1/downloads``."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from meterkms.keys.downloads.options import FORMAT_LABELS, FORMATS
from meterkms.keys.models import Download, DownloadState


class DownloadFilter(django_filters.FilterSet):
    """State and format of the user's downloads."""

    state = django_filters.ChoiceFilter(label=_("State"), choices=DownloadState.choices)
    format = django_filters.ChoiceFilter(
        label=_("Format"), choices=[(name, FORMAT_LABELS[name]) for name in FORMATS]
    )

    class Meta:
        model = Download
        fields = ["state", "format"]
