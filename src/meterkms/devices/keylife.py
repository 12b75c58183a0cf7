"""Key lifecycle (NIST SP 800-57) and data-key rotation of stored device keys.

States: pre-active → active → deactivated → destroyed, and compromised from any live state.
Only the allowed transitions succeed, each audited; destroying a key overwrites its sealed
value, so nothing of it is recoverable. Only *active* keys may be downloaded or used.

Data-key rotation (:func:`reseal_scope`) moves every key of a manufacturer to the vault's
active data key, batch by batch, each batch in its own transaction with a compare-and-set on
the old blob: resumable after ``kill -9`` (the job row remembers where it was) and safe while
imports and downloads go on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.devices.models import DeviceKey, KeyState, ResealJob
from meterkms.devices.services import history
from meterkms.organisations.permissions import Perm
from meterkms.vault.engine import Vault
from meterkms.vault.rotation import reseal_blobs
from meterkms.vault.runtime import get_vault

S = KeyState
#: The only transitions there are. There is no way back to active.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PRE_ACTIVE: frozenset({S.ACTIVE, S.COMPROMISED, S.DESTROYED}),
    S.ACTIVE: frozenset({S.DEACTIVATED, S.COMPROMISED}),
    S.DEACTIVATED: frozenset({S.COMPROMISED, S.DESTROYED}),
    S.COMPROMISED: frozenset({S.DESTROYED}),
    S.DESTROYED: frozenset(),
}
#: Which states allow which operations on a key.
OPERATIONS: dict[str, frozenset[str]] = {
    "download": frozenset({S.ACTIVE}),
    "prove": frozenset({S.ACTIVE, S.PRE_ACTIVE}),
    "reseal": frozenset({S.PRE_ACTIVE, S.ACTIVE, S.DEACTIVATED, S.COMPROMISED}),
}
DESTROYED_BLOB = b""


def allowed(operation: str, state: str) -> bool:
    """May ``operation`` be done on a key in ``state``?"""
    return state in OPERATIONS.get(operation, frozenset())


@transaction.atomic
def change_state(*, actor: Any, key: DeviceKey, state: str, reason: str = "") -> DeviceKey:
    """Move a key to ``state`` if the lifecycle allows it; destroying wipes the sealed value.

    ``key`` must come from the actor's scope. The row is locked, so two concurrent changes
    cannot both pass the check.
    """
    if not actor.has(Perm.KEYS_MANAGE):
        raise PermissionDenied()
    locked = DeviceKey._base_manager.select_for_update().get(pk=key.pk)
    current = locked.state
    if state not in TRANSITIONS.get(current, frozenset()):
        raise DomainError(
            "conflict",
            _("A %(current)s key cannot become %(state)s.") % {"current": current, "state": state},
        )
    locked.state = state
    fields = ["state", "updated_at"]
    if state == S.DESTROYED:
        locked.sealed = DESTROYED_BLOB
        fields.append("sealed")
    locked.save(update_fields=fields)
    history([locked.device], f"key.{state}", actor, slot=locked.slot, version=locked.version)
    record(
        Action.KEY_STATE_CHANGED,
        actor=actor,
        target=locked.device,
        data={
            "slot": locked.slot,
            "version": locked.version,
            "from": current,
            "to": state,
            "reason": reason[:200],
        },
    )
    return locked


def _scope(manufacturer_id: Any) -> str:
    return f"org:{manufacturer_id}"


def _batch(job: ResealJob, size: int) -> list[tuple[int, int, str, int, bytes]]:
    rows = (
        DeviceKey._base_manager.filter(
            device__manufacturer_id=job.organisation_id,
            id__gt=job.last_id,
            state__in=list(OPERATIONS["reseal"]),
        )
        .order_by("id")
        .values_list("id", "device_id", "slot", "version", "sealed")[:size]
    )
    return [(pk, device, slot, version, bytes(blob)) for pk, device, slot, version, blob in rows]


def _reseal(vault: Vault, scope: str, rows: list[tuple[int, int, str, int, bytes]]) -> int:
    groups: dict[tuple[str, int], list[tuple[int, int, bytes]]] = defaultdict(list)
    for pk, device, slot, version, blob in rows:
        groups[(slot, version)].append((pk, device, blob))
    updates = []
    for (slot, version), items in groups.items():
        fresh = reseal_blobs(
            vault,
            scope=scope,
            slot=slot,
            version=version,
            items=[(str(device), blob) for _pk, device, blob in items],
        )
        updates.extend(
            (pk, old, new)
            for (pk, _device, old), new in zip(items, fresh, strict=True)
            if new != old
        )
    with transaction.atomic():
        for pk, old, new in updates:
            # Compare-and-set: a key changed meanwhile (destroyed, say) keeps its new value.
            DeviceKey._base_manager.filter(pk=pk, sealed=old).update(sealed=new)
    return len(updates)


def _sweep(
    vault: Vault,
    scope: str,
    job: ResealJob,
    batch_size: int,
    progress: Callable[[ResealJob], None] | None,
) -> None:
    while rows := _batch(job, batch_size):
        job.resealed += _reseal(vault, scope, rows)
        job.last_id = rows[-1][0]
        job.save(update_fields=["resealed", "last_id"])
        if progress is not None:
            progress(job)


def reseal_scope(
    *,
    organisation_id: Any,
    batch_size: int = 2000,
    rotate: bool = True,
    progress: Callable[[ResealJob], None] | None = None,
) -> ResealJob:
    """Move every stored key of a manufacturer to a fresh data key; resumes an unfinished job."""
    vault = get_vault()
    scope = _scope(organisation_id)
    job = ResealJob._base_manager.filter(organisation_id=organisation_id, finished_at=None).first()
    if job is None:
        old = vault.active_data_key_id(scope)
        if rotate:
            vault.rotate_data_key(scope)
        job = ResealJob._base_manager.create(
            organisation_id=organisation_id,
            retired_data_key=str(old or ""),
        )
        record(
            Action.DATA_KEYS_ROTATED,
            organisation=job.organisation,
            data={"scope": scope, "retired_data_key": job.retired_data_key, "job": job.pk},
            channel="cli",
        )
    _sweep(vault, scope, job, batch_size, progress)
    # Other threads and processes may seal under the retired data key until their leases
    # run out; wait for that and sweep the rows added meanwhile.
    remaining = vault.budget.lease_seconds - (timezone.now() - job.started_at).total_seconds()
    if remaining > 0:
        time.sleep(remaining + 0.5)
    _sweep(vault, scope, job, batch_size, progress)
    job.finished_at = timezone.now()
    job.save(update_fields=["finished_at"])
    return job


def blobs_under(data_key_id: str, organisation_id: Any) -> int:
    """How many stored keys of the manufacturer are still sealed under ``data_key_id``."""
    if not data_key_id:
        return 0
    header = Vault.data_key_id
    count = 0
    blobs = (
        DeviceKey._base_manager.filter(device__manufacturer_id=organisation_id)
        .exclude(state=S.DESTROYED)
        .values_list("sealed", flat=True)
    )
    for blob in blobs.iterator(chunk_size=5000):
        if str(header(bytes(blob))) == data_key_id:
            count += 1
    return count


def rotate_master_key(*, progress: Callable[[Any], None] | None = None) -> Any:
    """Re-wrap every data key under the configured (new) master key; move the check blob.

    The old master key must still be configured as a previous key until this completes;
    rerun after an interruption (each data key is re-wrapped on its own, compare-and-set).
    """
    from meterkms.vault.checkblob import refresh_check_blob
    from meterkms.vault.djangostore import DjangoDataKeyStore
    from meterkms.vault.models import MasterKeyCheck
    from meterkms.vault.rotation import rewrap_data_keys, unreferenced_versions

    provider = get_vault().provider
    store = DjangoDataKeyStore()
    report = rewrap_data_keys(store, target=provider, progress=progress)
    check = MasterKeyCheck.objects.get(pk=1)
    blob = refresh_check_blob(provider, bytes(check.blob))
    if blob != bytes(check.blob):
        MasterKeyCheck.objects.filter(pk=1).update(
            blob=blob, master_key_version=provider.key_version
        )
    with transaction.atomic():
        record(
            Action.MASTER_KEY_ROTATED,
            channel="cli",
            data={
                "target_version": report.target_version,
                "rewrapped": report.rewrapped,
                "failed": len(report.failed),
                "complete": report.complete,
                "removable_versions": list(unreferenced_versions(provider, store)),
            },
        )
    return report
