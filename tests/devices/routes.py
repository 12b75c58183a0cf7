"""The catalogue's routes in the URL walk."""

from __future__ import annotations

import secrets
from typing import Any

from meterkms.accounts.models import User
from meterkms.organisations.permissions import Perm
from tests.support.catalogue import make_device, make_run
from tests.support.personas import World
from tests.support.urlwalk import Route, register

MISSING = 987_654_321


def _other_org(world: World, persona: User) -> Any:
    return world.org_b if persona.organisation_id != world.org_b.pk else world.org_a


def device_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    if kind == "missing":
        return {"device_id": MISSING}
    owner = persona.organisation if kind == "own" else _other_org(world, persona)
    return {"device_id": make_device(owner, f"W{secrets.token_hex(4)}").pk}


def run_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    if kind == "missing":
        return {"run_id": MISSING}
    owner = persona.organisation if kind == "own" else _other_org(world, persona)
    return {"run_id": make_run(owner).pk}


register(
    Route("web:devices", perm=Perm.DEVICES_READ),
    Route("web:device_detail", perm=Perm.DEVICES_READ, target=device_target),
    Route(
        "web:device_labels",
        method="POST",
        perm=Perm.LABELS_EDIT,
        ok=(302,),
        body=lambda w, u: {"label": "walk", "operation": "add"},
    ),
    Route("web:device_types", perm=Perm.DEVICES_READ),
    Route(
        "web:device_types",
        method="POST",
        perm=Perm.DEVICE_TYPES_MANAGE,
        ok=(200, 302),
        body=lambda w, u: {
            "name": f"Walk {secrets.token_hex(3)}",
            "technology": "LoRaWAN",
            "key_slots": ["AppKey"],
        },
    ),
    Route("web:imports", perm=Perm.DEVICES_IMPORT),
    Route("web:device_import", perm=Perm.DEVICES_IMPORT),
    Route(
        "web:device_import",
        method="POST",
        perm=Perm.DEVICES_IMPORT,
        ok=(200,),
        body=lambda w, u: {"format": "csv"},
    ),
    Route("web:import_detail", perm=Perm.DEVICES_IMPORT, target=run_target),
    Route(
        "web:import_commit", method="POST", perm=Perm.DEVICES_IMPORT, target=run_target, ok=(302,)
    ),
    Route("api:list_devices", perm=Perm.DEVICES_READ),
    Route("api:get_device", perm=Perm.DEVICES_READ, target=device_target),
    Route(
        "api:change_labels",
        method="POST",
        perm=Perm.LABELS_EDIT,
        json=True,
        body=lambda w, u: {"devices": [], "add": ["walk"]},
    ),
    Route("api:list_device_types", perm=Perm.DEVICES_READ),
    Route(
        "api:create_device_type",
        method="POST",
        perm=Perm.DEVICE_TYPES_MANAGE,
        ok=(201,),
        json=True,
        body=lambda w, u: {
            "name": f"Walk {secrets.token_hex(4)}",
            "technology": "LoRaWAN",
            "key_slots": ["AppKey"],
        },
    ),
)
