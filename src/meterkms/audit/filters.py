"""The filters of the audit list, shared by the web page and the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    """Action, actor, channel, object and time range."""

    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=[(action.value, action.value) for action in Action]
    )
    actor = django_filters.CharFilter(
        label=_("Actor"), field_name="actor_label", lookup_expr="icontains"
    )
    channel = django_filters.ChoiceFilter(
        label=_("Channel"),
        choices=[(c, c) for c in ("web", "api", "cli", "task", "system")],
    )
    target = django_filters.CharFilter(label=_("Object"), field_name="target_id")
    since = django_filters.IsoDateTimeFilter(
        label=_("From"), field_name="created_at", lookup_expr="gte"
    )
    until = django_filters.IsoDateTimeFilter(
        label=_("Until"), field_name="created_at", lookup_expr="lte"
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "channel", "target", "since", "until"]
