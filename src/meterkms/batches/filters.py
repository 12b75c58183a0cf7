"""The filters of the batch, claim-request and hand-over lists (web and API share them)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from meterkms.batches.models import Batch, ClaimRequest, ConfirmationState, OwnershipTransfer
from meterkms.devices.models import Device

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BatchFilter(django_filters.FilterSet):
    """Batch ("Versandlos"), confirmation state, a serial it contains, created from/until."""

    batch = django_filters.ModelChoiceFilter(
        label=_("Batch"), method="one_batch", queryset=Batch._base_manager.none()
    )
    confirmation_state = django_filters.ChoiceFilter(
        label=_("Confirmation state"), choices=ConfirmationState.choices
    )
    serial = django_filters.CharFilter(label=_("Serial number"), method="containing", max_length=64)
    created_after = django_filters.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=_DATE
    )
    created_before = django_filters.DateFilter(
        label=_("Created until"), field_name="created_at", lookup_expr="date__lte", widget=_DATE
    )

    class Meta:
        model = Batch
        fields = ["batch", "confirmation_state", "serial", "created_after", "created_before"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        # Choices from the actor's scope only: no other tree's batch references.
        self.filters["batch"].queryset = Batch.objects.visible_to(actor).order_by("reference")

    def one_batch(self, queryset: QuerySet, name: str, value: Batch | None) -> QuerySet:
        """The chosen batch (among the actor's)."""
        return queryset.filter(pk=value.pk) if value is not None else queryset

    def containing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Batches holding a device with this serial, among the devices the actor sees."""
        serial = value.strip()
        if not serial:
            return queryset
        holding = (
            Device.objects.visible_to(self.actor)
            .filter(serial=serial, batch__isnull=False)
            .values("batch_id")
        )
        return queryset.filter(pk__in=holding)


class ClaimRequestFilter(django_filters.FilterSet):
    """Claim requests by state and batch."""

    state = django_filters.ChoiceFilter(label=_("State"), choices=ClaimRequest.State.choices)
    batch = django_filters.ModelChoiceFilter(label=_("Batch"), queryset=Batch._base_manager.none())

    class Meta:
        model = ClaimRequest
        fields = ["state", "batch"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["batch"].queryset = Batch.objects.visible_to(actor).order_by("reference")


class TransferFilter(django_filters.FilterSet):
    """Hand-overs by reason text and date."""

    reason = django_filters.CharFilter(
        label=_("Reason / reference"), lookup_expr="icontains", max_length=200
    )
    created_after = django_filters.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=_DATE
    )

    class Meta:
        model = OwnershipTransfer
        fields = ["reason", "created_after"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
