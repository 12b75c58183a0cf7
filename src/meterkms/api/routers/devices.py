"""``/api/v1/devices`` and ``/api/v1/device-types``: the catalogue over the API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.api import filtering
from meterkms.api.errors import ERRORS
from meterkms.api.permissions import require
from meterkms.api.schemas.devices import (
    DeviceDetailOut,
    DevicePage,
    DeviceTypeIn,
    DeviceTypeOut,
    LabelChangeIn,
    LabelChangeOut,
)
from meterkms.core.pagination import paginate
from meterkms.devices import services
from meterkms.devices.filters import DeviceFilter
from meterkms.devices.models import Device, DeviceKey, DeviceType
from meterkms.devices.queries import catalogue_rows, list_rows
from meterkms.organisations.permissions import Perm

router = Router(tags=["devices"])
types_router = Router(tags=["devices"])

DeviceQuery = filtering.query_schema(DeviceFilter, "DeviceQuery")
MAX_LABEL_DEVICES = 10_000


def device_out(device: Device) -> dict[str, Any]:
    """The list representation of a device (labels already scoped by the queryset)."""
    return {
        "id": device.pk,
        "serial": device.serial,
        "device_type": device.device_type.name,
        "claim_status": device.claim_status,
        "labels": [label.name for label in device.labels.all()],
        "batch": device.batch.reference if device.batch_id else None,
        "dev_eui": device.dev_eui,
        "meter_address": device.meter_address,
        "wmbus_manufacturer": device.wmbus_manufacturer,
    }


@router.get("", response={200: DevicePage, **ERRORS}, summary="List devices")
def list_devices(request: HttpRequest, params: Query[DeviceQuery]) -> JsonResponse:  # type: ignore[valid-type]
    actor = request.auth
    require(actor, Perm.DEVICES_READ)
    scoped = Device.objects.visible_to(actor).order_by("serial")
    filterset = filtering.bind(DeviceFilter, params, scoped, actor=actor)
    page = paginate(
        filterset.qs,
        limit=params.limit,
        offset=params.offset,
        rows=lambda window: list_rows(window, actor),
        estimate=True,
        unfiltered=scoped,
        narrow=filterset.narrow_source(),
    )
    # A plain JSON answer: the rows are built to the schema above, so pydantic's per-field
    # validation of every item is skipped on this hot path (tests check the shape).
    return JsonResponse(
        {
            "count": page.total,
            "count_exact": page.exact,
            "count_estimated": page.estimated,
            "offset": page.offset,
            "limit": page.limit,
            "items": page.items,
        }
    )


@router.get("/{int:device_id}", response={200: DeviceDetailOut, **ERRORS}, summary="One device")
def get_device(request: HttpRequest, device_id: int) -> dict[str, Any]:
    actor = request.auth
    require(actor, Perm.DEVICES_READ)
    device = get_object_or_404(catalogue_rows(actor).select_related("owner"), pk=device_id)
    keys = DeviceKey.objects.visible_to(actor).filter(device=device)
    return {
        **device_out(device),
        "owner": device.owner.name,
        "join_eui": device.join_eui,
        "dev_addr": device.dev_addr,
        "lorawan_version": device.lorawan_version,
        "wmbus_version": device.wmbus_version,
        "medium": device.medium,
        "module_address": device.module_address,
        "created_at": device.created_at,
        "keys": [
            {
                "slot": key.slot,
                "algorithm": key.algorithm,
                "version": key.version,
                "state": key.state,
                "kcv": key.kcv,
                "kcv_cmac": key.kcv_cmac,
            }
            for key in keys
        ],
    }


@router.post("/labels", response={200: LabelChangeOut, **ERRORS}, summary="Add/remove labels")
def change_labels(request: HttpRequest, payload: LabelChangeIn) -> dict[str, int]:
    actor = request.auth
    require(actor, Perm.LABELS_EDIT)
    ids = payload.devices[:MAX_LABEL_DEVICES]
    devices = list(Device.objects.visible_to(actor).filter(pk__in=ids).only("pk"))
    changed = services.change_labels(
        actor=actor, devices=devices, add=payload.add, remove=payload.remove
    )
    return {"changed": changed}


def _type_out(device_type: DeviceType) -> dict[str, Any]:
    return {
        "id": device_type.pk,
        "name": device_type.name,
        "technology": device_type.technology,
        "product_family": device_type.product_family,
        "key_slots": device_type.key_slots,
        "shared": device_type.organisation_id is None,
    }


@types_router.get("", response={200: list[DeviceTypeOut], **ERRORS}, summary="Device types")
def list_device_types(request: HttpRequest) -> list[dict[str, Any]]:
    require(request.auth, Perm.DEVICES_READ)
    return [_type_out(t) for t in DeviceType.objects.visible_to(request.auth)]


@types_router.post("", response={201: DeviceTypeOut, **ERRORS}, summary="Add a device type")
def create_device_type(request: HttpRequest, payload: DeviceTypeIn) -> Status:
    require(request.auth, Perm.DEVICE_TYPES_MANAGE)
    device_type = services.create_device_type(actor=request.auth, **payload.model_dump())
    return Status(201, _type_out(device_type))
