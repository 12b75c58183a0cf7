"""The filters of the device list, shared by the web catalogue and ``GET /api/v1/devices``.

Serial prefixes use a range on the byte-ordered column (never LIKE), so both databases
answer them from the index (stack-notes traps 2 and 3).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, Lookup, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from meterkms.batches.models import Batch
from meterkms.core.fields import prefix_bounds
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device, DeviceLabel, DeviceType, ImportRun, Label

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
        Q(serial__gram_contains=text)
        | Q(dev_eui=upper)
        | Q(meter_address=text)
        | Q(module_address=upper)
    )


def filter_label(queryset: QuerySet, name: str, value: Label | None) -> QuerySet:
    """Devices carrying the label (one of the actor's tree, the filter's choices say).

    PostgreSQL gets ``id = ANY(ARRAY(labelled ids))``: the label's devices are read first and
    looked up by primary key. A plain join or ``IN (…)`` lets the planner walk the owner's
    devices in serial order probing each for the label (or merge the whole primary key with
    the label's rows), which at a million devices takes several times as long when the
    labelled devices are few and scattered.
    """
    if value is None:
        return queryset
    labelled = DeviceLabel._base_manager.filter(label_id=value.pk).values("device_id")
    return queryset.filter(InSubqueryArray(F("id"), labelled))


class InSubqueryArray(Lookup):  # type: ignore[type-arg]
    """``column = ANY(ARRAY(subquery))`` on PostgreSQL, ``column IN (subquery)`` elsewhere.

    The array form makes PostgreSQL run the subquery first, once (an init plan), and look
    its values up through the column's index, whatever it estimates for the join.
    """

    lookup_name = "in_subquery_array"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if not rhs.startswith("("):
            rhs = f"({rhs})"
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


class DeviceFilter(django_filters.FilterSet):
    """Serial (prefix / contains), device type, claim status, label, batch, free text, order."""

    serial = django_filters.CharFilter(
        label=_("Serial number"), method=filter_serial_prefix, max_length=64
    )
    serial_contains = django_filters.CharFilter(
        label=_("Serial number contains"),
        field_name="serial",
        lookup_expr="gram_contains",
        max_length=64,
    )
    device_type = django_filters.ModelChoiceFilter(
        label=_("Device type"), queryset=DeviceType._base_manager.none()
    )
    claim_status = django_filters.ChoiceFilter(
        label=_("Claim status"), choices=[(status.value, status.value) for status in ClaimStatus]
    )
    label = django_filters.ModelChoiceFilter(
        label=_("Labels"), method=filter_label, queryset=Label._base_manager.none()
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
        self.actor = actor
        # Choices come from the actor's scope only: no other tree's types, labels or batches.
        self.filters["device_type"].queryset = DeviceType.objects.visible_to(actor)
        self.filters["label"].queryset = Label.objects.visible_to(actor)
        self.filters["batch"].queryset = Batch.objects.visible_to(actor)

    def order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*ORDERINGS.get(value, ORDERINGS["serial"]))

    def narrow_source(self) -> tuple[QuerySet, str] | None:
        """For a list filtered by one label only, in serial order: the label's links.

        The links carry copies of each device's serial, owner and offer (``DeviceLabel``)
        and are scoped by the devices' own rule, so they hold exactly the list's devices,
        readable in serial order from one index range. ``core.pagination.paginate`` takes
        the page's ids and the count from there. None for every other list.
        """
        if not self.is_valid():
            return None
        data = self.form.cleaned_data
        label = data.get("label")
        ordering = data.get("ordering") or "serial"
        others = [
            name
            for name, value in data.items()
            if name not in {"label", "ordering"} and value not in (None, "")
        ]
        if label is None or others or ordering not in {"serial", "-serial"}:
            return None
        direction = "-" if ordering.startswith("-") else ""
        links = DeviceLabel.objects.visible_to(self.actor).filter(label=label)
        # The device id breaks ties in both directions, as ``paginate`` orders the page.
        return links.order_by(f"{direction}serial", "device_id"), "device_id"


class ImportRunFilter(django_filters.FilterSet):
    """The imports list: by state and file name."""

    state = django_filters.ChoiceFilter(label=_("State"), choices=ImportRun.State.choices)
    file_name = django_filters.CharFilter(label=_("File"), lookup_expr="icontains")

    class Meta:
        model = ImportRun
        fields = ["state", "file_name"]
