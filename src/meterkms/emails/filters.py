"""The filters of the template list and the outbox, shared by the web pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.models import Language
from meterkms.emails.enums import EmailKind, OutboxState
from meterkms.emails.models import EmailTemplate, OutboxMessage
from meterkms.organisations.models import Organisation

#: The value of the organisation filter that selects the system defaults.
SYSTEM = "system"


class EmailTemplateFilter(django_filters.FilterSet):
    """NAME, TYP, SPRACHE, AKTIV of the manual, plus the owning organisation.

    The organisation choices are the actor's subtree only (pass ``actor``), so the filter
    never names another tree's organisations.
    """

    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=EmailKind.choices)
    language = django_filters.ChoiceFilter(label=_("Language"), choices=Language.choices)
    active = django_filters.ChoiceFilter(
        label=_("Active"),
        choices=[("true", _("Active")), ("false", _("Inactive"))],
        method="filter_active",
    )
    organisation = django_filters.ChoiceFilter(
        label=_("Organisation"), method="filter_organisation"
    )

    class Meta:
        model = EmailTemplate
        fields = ["name", "kind", "language", "active", "organisation"]

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [(SYSTEM, _("System default"))]
        if actor is not None:
            visible = Organisation.objects.visible_to(actor).order_by("path")
            choices += [(str(org.pk), org.name) for org in visible]
        self.filters["organisation"].extra["choices"] = choices

    def filter_active(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(is_active=value == "true")

    def filter_organisation(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == SYSTEM:
            return queryset.filter(organisation__isnull=True)
        return queryset.filter(organisation_id=value)


class OutboxFilter(django_filters.FilterSet):
    """State, type, recipient, test flag and time range of the outbox."""

    state = django_filters.ChoiceFilter(label=_("State"), choices=OutboxState.choices)
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=EmailKind.choices)
    recipient = django_filters.CharFilter(label=_("Recipient"), method="filter_recipient")
    since = django_filters.IsoDateTimeFilter(
        label=_("From"), field_name="created_at", lookup_expr="gte"
    )
    until = django_filters.IsoDateTimeFilter(
        label=_("Until"), field_name="created_at", lookup_expr="lte"
    )

    class Meta:
        model = OutboxMessage
        fields = ["state", "kind", "recipient", "since", "until"]

    def filter_recipient(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(to_email__icontains=value) | Q(recipient_name__icontains=value))
