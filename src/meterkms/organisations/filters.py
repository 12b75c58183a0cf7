"""The filters of the organisation, invitation and partner lists (web page and API alike).

Every choice list is built from the actor's scope, so a filter dropdown never names an
organisation of another tree; and a filter only narrows the scoped queryset it is given.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.organisations.models import Invitation, InvitationState, Organisation, Partnership
from meterkms.organisations.permissions import Role


class ScopedFilterSet(django_filters.FilterSet):
    """A FilterSet whose organisation choices come from the actor's subtree.

    Pass ``actor=``; every ``ModelChoiceFilter`` over organisations listed in
    ``organisation_filters`` then offers exactly the organisations the actor may see, and a
    value outside them is an invalid choice (the same answer as an id that does not exist).
    """

    organisation_filters: tuple[str, ...] = ()

    def __init__(self, data: Any = None, queryset: Any = None, *, actor: Any, **kwargs: Any):
        super().__init__(data, queryset, **kwargs)
        self.actor = actor
        visible = Organisation.objects.visible_to(actor).order_by("name", "pk")
        for name in self.organisation_filters:
            self.filters[name].queryset = visible


def role_choices() -> list[tuple[str, str]]:
    """Roles as filter choices (the role names the lists show)."""
    return [(role.value, role.value) for role in Role]


class OrganisationFilter(ScopedFilterSet):
    """Organisation, parent organisation ("Mutter-Organisation") and customer reference."""

    organisation_filters = ("organisation", "parent")

    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"),
        queryset=Organisation._base_manager.none(),
        method="filter_organisation",
    )
    parent = django_filters.ModelChoiceFilter(
        label=_("Parent organisation"),
        field_name="parent",
        queryset=Organisation._base_manager.none(),
    )
    customer_reference = django_filters.ChoiceFilter(
        label=_("Customer reference"), field_name="customer_reference"
    )

    class Meta:
        model = Organisation
        fields = ["organisation", "parent", "customer_reference"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, actor=actor, **kwargs)
        references = (
            Organisation.objects.visible_to(actor)
            .exclude(customer_reference="")
            .order_by("customer_reference")
            .values_list("customer_reference", flat=True)
            .distinct()
        )
        self.filters["customer_reference"].extra["choices"] = [(r, r) for r in references]

    def filter_organisation(
        self, queryset: models.QuerySet, name: str, value: Organisation
    ) -> models.QuerySet:
        return queryset.filter(pk=value.pk)


class InvitationFilter(ScopedFilterSet):
    """State, organisation, role, name and email of invitations.

    The queryset must carry the ``current_state`` annotation (``queries.invitation_state``).
    """

    organisation_filters = ("organisation",)

    state = django_filters.ChoiceFilter(
        label=_("State"), choices=InvitationState.choices, method="filter_state"
    )
    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"),
        field_name="organisation",
        queryset=Organisation._base_manager.none(),
    )
    role = django_filters.ChoiceFilter(label=_("Role"), choices=role_choices())
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    email = django_filters.CharFilter(label=_("Email"), lookup_expr="icontains")

    class Meta:
        model = Invitation
        fields = ["state", "organisation", "role", "name", "email"]

    def filter_state(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(current_state=value)


class PartnershipFilter(ScopedFilterSet):
    """Partner links of one organisation of the actor's tree, or by the partner's name."""

    organisation_filters = ("organisation",)

    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"), queryset=Organisation._base_manager.none(), method="filter_side"
    )
    partner = django_filters.CharFilter(label=_("Partner"), method="filter_partner")

    class Meta:
        model = Partnership
        fields = ["organisation", "partner"]

    def filter_side(
        self, queryset: models.QuerySet, name: str, value: Organisation
    ) -> models.QuerySet:
        return queryset.filter(models.Q(first=value) | models.Q(second=value))

    def filter_partner(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(
            models.Q(first__name__icontains=value) | models.Q(second__name__icontains=value)
        )
