"""The filters of the user list ("Anwender"), shared by the web page and the API."""

from __future__ import annotations

import django_filters
from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.accounts.models import User
from meterkms.organisations.filters import ScopedFilterSet, role_choices
from meterkms.organisations.models import Organisation

ACTIVITY_CHOICES = [("active", _("active")), ("inactive", _("deactivated"))]


class UserFilter(ScopedFilterSet):
    """One filter per column — name, email, organisation, role — plus active/deactivated."""

    organisation_filters = ("organisation",)

    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    email = django_filters.CharFilter(label=_("Email"), lookup_expr="icontains")
    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"),
        field_name="organisation",
        queryset=Organisation._base_manager.none(),
    )
    role = django_filters.ChoiceFilter(label=_("Roles"), choices=role_choices())
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=ACTIVITY_CHOICES, method="filter_state"
    )

    class Meta:
        model = User
        fields = ["name", "email", "organisation", "role", "state"]

    def filter_state(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(is_active=value == "active")
