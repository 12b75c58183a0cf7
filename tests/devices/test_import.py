"""The manufacturer import: all or nothing, every problem by line and column, keys sealed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import PermissionDenied
from meterkms.devices.enums import ClaimStatus
from meterkms.devices.models import Device, DeviceKey, ImportRun
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.errors import BlobIntegrityError
from meterkms.vault.kcv import key_check_value_hex
from meterkms.vault.runtime import get_vault
from tests.devices.conftest import HEADER, lora_csv, random_key, run_import, type_id
from tests.support.catalogue import make_device
from tests.support.personas import World

pytestmark = pytest.mark.django_db
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

WriteFile = Callable[[str, str], Path]


def _devices() -> list[Device]:
    with tenancy.crossing("test reads the whole catalogue"):
        return list(Device.objects.order_by("serial"))


def _unseal(device: Device, slot: str = "AppKey") -> bytes:
    key = DeviceKey._base_manager.get(device=device, slot=slot)
    return get_vault().unseal(
        bytes(key.sealed),
        scope=f"org:{device.manufacturer_id}",
        record=str(device.pk),
        slot=slot,
        version=key.version,
    )


def test_import_writes_devices_with_sealed_keys_and_one_audit_event(
    world: World, write_file: WriteFile
) -> None:
    text, keys = lora_csv(25)
    outcome = run_import(world.alice, write_file("devices.csv", text))
    assert (outcome.error_count, outcome.valid, outcome.rows) == (0, 25, 25)
    devices = _devices()
    assert [d.serial for d in devices] == sorted(keys)
    for device in devices:
        assert device.owner_id == world.org_a.pk
        assert device.manufacturer_id == world.org_a.pk
        assert device.claim_status == ClaimStatus.UNCLAIMED.value
        assert device.dev_eui.startswith("70B3D5E75E")
        key = bytes.fromhex(keys[device.serial])
        assert _unseal(device) == key
        stored = DeviceKey._base_manager.get(device=device)
        assert stored.kcv == key_check_value_hex(key, Algorithm.AES128)
        assert key not in bytes(stored.sealed)
    run = ImportRun._base_manager.get()
    assert (run.state, run.created_count, run.rows_total) == ("done", 25, 25)
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="devices.imported")
    assert event.data["file_sha256"] == run.file_sha256
    assert event.data["rows"] == 25
    assert event.actor_label.startswith("Alice")


@pytest.mark.parametrize(("written", "analysed"), [(25, True), (24, False)])
def test_a_big_import_refreshes_the_planner_statistics(
    world: World, write_file: WriteFile, monkeypatch, written: int, analysed: bool
) -> None:
    """From ANALYZE_AFTER devices on (here lowered to 25), PostgreSQL gets ANALYZE at once
    (into a catalogue its statistics know as empty)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from meterkms.devices.importing import service

    monkeypatch.setattr(service, "ANALYZE_AFTER", 25)
    monkeypatch.setattr(service, "_rows_in_statistics", lambda: 0.0)
    text, _keys = lora_csv(written)
    with CaptureQueriesContext(connection) as queries:
        outcome = run_import(world.alice, write_file("devices.csv", text))
    assert outcome.valid == written
    ran = any(query["sql"].startswith("ANALYZE") for query in queries.captured_queries)
    assert ran is (analysed and connection.vendor == "postgresql")


@pytest.mark.parametrize(("known", "analysed"), [(250, True), (251, False)])
def test_an_import_small_against_the_catalogue_leaves_the_statistics_to_autovacuum(
    world: World, write_file: WriteFile, monkeypatch, known: int, analysed: bool
) -> None:
    """25 devices are a tenth of 250 rows known to the planner, but not of 251."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from meterkms.devices.importing import service

    monkeypatch.setattr(service, "ANALYZE_AFTER", 25)
    monkeypatch.setattr(service, "_rows_in_statistics", lambda: float(known))
    text, _keys = lora_csv(25)
    with CaptureQueriesContext(connection) as queries:
        outcome = run_import(world.alice, write_file("devices.csv", text))
    assert outcome.valid == 25
    ran = any(query["sql"].startswith("ANALYZE") for query in queries.captured_queries)
    assert ran is (analysed and connection.vendor == "postgresql")


@pytest.mark.skipif(not ON_POSTGRES, reason="reads PostgreSQL's statistics")
def test_the_rows_known_to_the_planner_are_read_from_its_statistics(world: World) -> None:
    from django.db import connection

    from meterkms.devices.importing import service

    make_device(world.org_a, "STAT1")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    assert service._rows_in_statistics() == 1.0


def test_every_problem_is_reported_by_line_and_column_and_nothing_is_written(
    world: World, write_file: WriteFile
) -> None:
    secret = random_key()
    text = (
        HEADER
        + f"A1;TOPAS Lora W8;70B3D5E75E000001;70B3D5E75E000000;{random_key()}\n"
        + f"A2;No Such Type;70B3D5E75E000002;70B3D5E75E000000;{random_key()}\n"
        + f"A3;TOPAS Lora W8;70B3D5E75E000003;70B3D5E75E000000;{secret[:-2]}\n"
        + f"A4;TOPAS Lora W8;70B3D5E75E000004;70B3D5E75E000000;{'00' * 16}\n"
        + f"A5;TOPAS Lora W8;70B3D5E75E000005;70B3D5E75E000000;{secret}\n"
        + f"A6;TOPAS Lora W8;70B3D5E75E000006;70B3D5E75E000000;{secret}\n"
    )
    outcome = run_import(world.alice, write_file("bad.csv", text))
    problems = {(e.line, e.field): e.message for e in outcome.errors}
    assert set(problems) == {(3, "device_type"), (4, "AppKey"), (5, "AppKey"), (7, "AppKey")}
    assert "No Such Type" in problems[(3, "device_type")]
    assert "32 hex digits" in problems[(4, "AppKey")]
    assert "all zeros" in problems[(5, "AppKey")]
    assert "same key as on line 6" in problems[(7, "AppKey")]
    rendered = " ".join(problems.values())
    assert secret not in rendered.upper()
    assert secret[:8] not in rendered.upper()
    assert _devices() == []
    assert DeviceKey._base_manager.count() == 0
    run = ImportRun._base_manager.get()
    assert run.state == "failed"
    assert run.error_count == 4


def test_dry_run_checks_everything_and_writes_nothing(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(10)
    outcome = run_import(world.alice, write_file("d.csv", text), dry_run=True)
    assert (outcome.error_count, outcome.valid) == (0, 10)
    assert len(outcome.preview) == 10
    assert {key["slot"] for row in outcome.preview for key in row["keys"]} == {"AppKey"}
    assert _devices() == []
    assert ImportRun._base_manager.get().state == "validated"


def test_reimporting_the_same_file_is_idempotent(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(5)
    path = write_file("same.csv", text)
    first = run_import(world.alice, path)
    second = run_import(world.alice, path)
    assert (first.valid, second.valid, second.unchanged, second.error_count) == (5, 0, 5, 0)
    assert len(_devices()) == 5


def test_existing_serial_with_another_key_is_refused(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(3)
    run_import(world.alice, write_file("one.csv", text))
    changed, _other = lora_csv(3)
    outcome = run_import(world.alice, write_file("two.csv", changed))
    assert outcome.error_count == 3
    assert {e.field for e in outcome.errors} == {"serial"}
    assert "exists already" in outcome.errors[0].message


def test_missing_keys_are_generated_when_asked(world: World, write_file: WriteFile) -> None:
    text = "serial;manufacturer;meter_address\nW1;AMT;12345678\nW2;AMT;12345679\n"
    refused = run_import(
        world.alice, write_file("w.csv", text), default_type_id=type_id("Aquastream WM-Bus")
    )
    assert refused.error_count == 2
    assert "no OMS key" in refused.errors[0].message
    outcome = run_import(
        world.alice,
        write_file("w2.csv", text),
        default_type_id=type_id("Aquastream WM-Bus"),
        generate_missing=True,
    )
    assert (outcome.error_count, outcome.valid) == (0, 2)
    first, second = _devices()
    assert (first.wmbus_manufacturer, first.meter_address) == ("AMT", "12345678")
    assert len(_unseal(first, "OMS")) == 16
    assert _unseal(first, "OMS") != _unseal(second, "OMS")


def test_sealed_keys_are_bound_to_their_device(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(2)
    run_import(world.alice, write_file("b.csv", text))
    first, second = _devices()
    blob = bytes(DeviceKey._base_manager.get(device=second).sealed)
    with pytest.raises(BlobIntegrityError):
        get_vault().unseal(
            blob,
            scope=f"org:{first.manufacturer_id}",
            record=str(first.pk),
            slot="AppKey",
            version=1,
        )


def test_shared_key_with_an_existing_device_is_a_warning(
    world: World, write_file: WriteFile
) -> None:
    key = random_key()
    run_import(
        world.alice,
        write_file("1.csv", HEADER + f"S1;TOPAS Lora W8;70B3D5E75E000001;70B3D5E75E000000;{key}\n"),
    )
    outcome = run_import(
        world.alice,
        write_file("2.csv", HEADER + f"S2;TOPAS Lora W8;70B3D5E75E000002;70B3D5E75E000000;{key}\n"),
    )
    assert outcome.error_count == 0
    assert any("same key is stored for another device" in w.message for w in outcome.warnings)


def test_roles_without_the_import_right_are_refused(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(1)
    with pytest.raises(PermissionDenied):
        run_import(world.olga, write_file("x.csv", text))


def test_import_of_another_tree_lands_in_that_tree(world: World, write_file: WriteFile) -> None:
    text, _keys = lora_csv(2, prefix="B")
    from meterkms.organisations.permissions import Role
    from tests.support.personas import make_user

    otc_b = make_user("otc-b@example.com", world.org_b, Role.OTC_ADMIN)
    run_import(otc_b, write_file("b.csv", text))
    with tenancy.acting_as(world.alice):
        assert not Device.objects.exists()
    with tenancy.acting_as(world.carol):
        assert Device.objects.count() == 2


def test_update_needs_the_option_and_the_right_and_versions_keys(
    world: World, write_file: WriteFile
) -> None:
    from meterkms.organisations.permissions import Role
    from tests.support.personas import make_user

    first = random_key()
    line = "U1;TOPAS Lora W8;70B3D5E75E000001;70B3D5E75E000000;{}\n"
    run_import(world.alice, write_file("1.csv", HEADER + line.format(first)))
    second = random_key()
    changed = write_file("2.csv", HEADER + line.format(second))
    refused = run_import(world.alice, changed)
    assert refused.error_count == 1
    admin = make_user("admin2@example.com", world.org_a, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        run_import(admin, changed, update_existing=True)
    outcome = run_import(world.alice, changed, update_existing=True)
    assert (outcome.error_count, outcome.updated, outcome.valid) == (0, 1, 0)
    (device,) = _devices()
    keys = list(DeviceKey._base_manager.filter(device=device).order_by("version"))
    assert [(k.version, k.state) for k in keys] == [(1, "deactivated"), (2, "active")]
    assert get_vault().unseal(
        bytes(keys[1].sealed),
        scope=f"org:{device.manufacturer_id}",
        record=str(device.pk),
        slot="AppKey",
        version=2,
    ) == bytes.fromhex(second)
    again = run_import(world.alice, changed, update_existing=True)
    assert (again.updated, again.unchanged) == (0, 1)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL defers the checks; SQLite checks at commit")
@pytest.mark.postgres
def test_a_chunks_foreign_keys_are_checked_when_the_chunk_is_written(world: World) -> None:
    """PostgreSQL defers foreign-key checks to the commit; the writer runs them per chunk, so
    a million-device import neither queues millions of checks nor runs them all at the end."""
    from django.db import IntegrityError, transaction

    from meterkms.devices.importing.validate import ValidDevice
    from meterkms.devices.importing.writer import DeviceWriter
    from meterkms.devices.models import DeviceType

    fields = dict.fromkeys(
        ("dev_eui", "join_eui", "dev_addr", "lorawan_version", "wmbus_manufacturer"), ""
    )
    fields |= {"meter_address": "", "module_address": "", "wmbus_version": None, "medium": None}
    device_type = DeviceType._base_manager.get(pk=type_id("TOPAS Lora W8"))
    last_run = ImportRun._base_manager.order_by("-pk").values_list("pk", flat=True).first()
    missing_run = (last_run or 0) + 1000
    writer = DeviceWriter(
        vault=get_vault(),
        manufacturer_id=world.org_a.pk,
        owner_id=world.org_a.pk,
        run_id=missing_run,
    )
    with transaction.atomic():
        with pytest.raises(IntegrityError, match="import_run"):
            writer.write([ValidDevice(2, "FK-0001", device_type, fields, ())])
        transaction.set_rollback(True)
    assert not Device._base_manager.filter(serial="FK-0001").exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL defers the checks; SQLite checks at commit")
@pytest.mark.postgres
def test_every_deferrable_constraint_starts_deferred() -> None:
    """The writer switches all constraints back to DEFERRED after each chunk's checks: right
    only while no deferrable constraint of the schema starts IMMEDIATE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE condeferrable AND NOT condeferred"
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE condeferrable")
        assert cursor.fetchone()[0] > 0  # Django's foreign keys


def test_warnings_are_all_counted_and_the_first_ones_kept(
    world: World, write_file: WriteFile, monkeypatch, client_for
) -> None:
    """A file may warn on every row: the import counts every warning but keeps only the
    first ones (memory stays bounded), and says how many there were."""
    import io

    from django.core.management import call_command

    from meterkms.cli.management.commands import devices as command
    from meterkms.devices.importers import records

    monkeypatch.setattr(records, "MAX_KEPT_PROBLEMS", 3)
    text, keys = lora_csv(4, prefix="W")
    run_import(world.alice, write_file("1.csv", text))
    # Four keys stored for other devices (found while writing), three typed-text keys
    # (found while validating).
    shared = "".join(
        f"V{n};TOPAS Lora W8;70B3D5E75E00010{n};70B3D5E75E000000;{key}\n"
        for n, key in enumerate(keys.values())
    )
    typed = "".join(
        f"P{n};TOPAS Lora W8;70B3D5E75E00020{n};70B3D5E75E000000;"
        f"{f'typed-secret-{n:03d}'.encode().hex()}\n"
        for n in range(3)
    )
    path = write_file("2.csv", HEADER + shared + typed)
    outcome = run_import(world.alice, path)
    assert (outcome.error_count, outcome.valid) == (0, 7)
    assert (outcome.warning_count, len(outcome.warnings)) == (7, 3)
    run = ImportRun._base_manager.latest("pk")
    assert (run.warning_count, len(run.warnings)) == (7, 3)
    page = client_for(world.alice).get(f"/catalogue/imports/{run.pk}/").content.decode()
    assert "7 warnings in total." in page

    monkeypatch.setattr(command, "SHOWN_WARNINGS", 2)
    errors = io.StringIO()
    again = write_file("3.csv", HEADER + shared.replace("V", "Y"))
    call_command(
        "devices",
        "import",
        str(again),
        "--as",
        world.alice.email,
        stderr=errors,
        stdout=io.StringIO(),
    )
    printed = errors.getvalue()
    assert printed.count("warning: ") == 2
    assert "… and 2 more warnings" in printed
