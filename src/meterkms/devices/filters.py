"""The filters of the device list, shared by the web catalogue and ``GET /api/v1/devices``.

Serial prefixes use a range on the byte-ordered column (never LIKE), so both databases
answer them from the index (stack-notes traps 2 and 3).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from meterkms.batches.models import Batch
from meterkms.core.fields import prefix_bounds
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device, DeviceType, ImportRun, Label

ORDERINGS = {
    "serial": ("serial",),
    "-serial": ("-serial",),
    "type": ("device_type__name", "serial"),
    "-type": ("-device_type__name", "-serial"),
    "status": ("claim_status", "serial"),
    "-status": ("-claim_status", "-serial"),
    "created": ("created_at", "serial"),
    "-created": ("-created_at", "-serial"),
}


def filter_serial_prefix(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Serials starting with ``value`` (exact case), as an index range."""
    bounds = prefix_bounds(value.strip())
    if bounds is None:
        return queryset
    return queryset.filter(serial__gte=bounds[0], serial__lt=bounds[1])


def filter_text(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Free text: serial contains it, or it is a DevEUI, meter or module address."""
    text = value.strip()
    if not text:
        return queryset
    upper = text.upper().replace(" ", "").replace(":", "").replace("-", "")
    return queryset.filter(
        Q(serial__contains=text)
        | Q(dev_eui=upper)
        | Q(meter_address=text)
        | Q(module_address=upper)
    )


class DeviceFilter(django_filters.FilterSet):
    """Serial (prefix / contains), device type, claim status, label, batch, free text, order."""

    serial = django_filters.CharFilter(
        label=_("Serial number"), method=filter_serial_prefix, max_length=64
    )
    serial_contains = django_filters.CharFilter(
        label=_("Serial number contains"),
        field_name="serial",
        lookup_expr="contains",
        max_length=64,
    )
    device_type = django_filters.ModelChoiceFilter(
        label=_("Device type"), queryset=DeviceType._base_manager.none()
    )
    claim_status = django_filters.ChoiceFilter(
        label=_("Claim status"), choices=[(status.value, status.value) for status in ClaimStatus]
    )
    label = django_filters.ModelChoiceFilter(
        label=_("Labels"), field_name="labels", queryset=Label._base_manager.none()
    )
    batch = django_filters.ModelChoiceFilter(label=_("Batch"), queryset=Batch._base_manager.none())
    q = django_filters.CharFilter(label=_("Search"), method=filter_text, max_length=64)
    ordering = django_filters.ChoiceFilter(
        label=_("Sort"),
        method="order",
        choices=[(key, key) for key in ORDERINGS],
        empty_label=None,
    )

    class Meta:
        model = Device
        fields = [
            "serial",
            "serial_contains",
            "device_type",
            "claim_status",
            "label",
            "batch",
            "q",
            "ordering",
        ]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from the actor's scope only: no other tree's types, labels or batches.
        self.filters["device_type"].queryset = DeviceType.objects.visible_to(actor)
        self.filters["label"].queryset = Label.objects.visible_to(actor)
        self.filters["batch"].queryset = Batch.objects.visible_to(actor)

    def order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*ORDERINGS.get(value, ORDERINGS["serial"]))


class ImportRunFilter(django_filters.FilterSet):
    """The imports list: by state and file name."""

    state = django_filters.ChoiceFilter(label=_("State"), choices=ImportRun.State.choices)
    file_name = django_filters.CharFilter(label=_("File"), lookup_expr="icontains")

    class Meta:
        model = ImportRun
        fields = ["state", "file_name"]
