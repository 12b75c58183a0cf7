"""Re-importing devices: identical ones are unchanged, changed ones need the update option.

A value the file gives is compared with the stored one; an empty cell gives nothing (it is
neither a difference nor overwrites anything). With the option, the device's type and given
data are updated in place and a key that differs gets the next version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from meterkms.devices.models import Device, DeviceEvent, DeviceKey, DeviceLabel
from meterkms.vault.runtime import get_vault
from tests.devices.conftest import HEADER, random_key, run_import, type_id
from tests.devices.importers.test_fuzz import samples
from tests.support.personas import World

WriteFile = Callable[[str, str], Path]
LINE = "{serial};{type};{dev_eui};70B3D5E75E000000;{key}\n"


def _csv(*rows: dict[str, str]) -> str:
    return HEADER + "".join(LINE.format(**{"type": "TOPAS Lora W8", **row}) for row in rows)


def _device(serial: str) -> Device:
    return Device._base_manager.select_related("device_type").get(serial=serial)


def _versions(serial: str) -> list[tuple[int, str]]:
    keys = DeviceKey._base_manager.filter(device__serial=serial).order_by("version")
    return [(key.version, key.state) for key in keys]


def _history(serial: str) -> list[tuple[str, dict]]:
    events = DeviceEvent._base_manager.filter(device__serial=serial).order_by("pk")
    return [(event.action, event.details) for event in events]


def _opens_to(serial: str, version: int, key: str) -> bool:
    device = _device(serial)
    stored = DeviceKey._base_manager.get(device=device, version=version)
    return get_vault().unseal(
        bytes(stored.sealed),
        scope=f"org:{device.manufacturer_id}",
        record=str(device.pk),
        slot="AppKey",
        version=version,
    ) == bytes.fromhex(key)


def test_changed_data_is_an_error_without_the_option_and_updated_with_it(
    world: World, write_file: WriteFile
) -> None:
    key = random_key()
    run_import(
        world.alice,
        write_file("1.csv", _csv({"serial": "D1", "dev_eui": "70B3D5E75E000001", "key": key})),
    )
    corrected = write_file(
        "2.csv", _csv({"serial": "D1", "dev_eui": "70B3D5E75E0000AA", "key": key})
    )
    refused = run_import(world.alice, corrected)
    assert refused.error_count == 1
    assert (refused.errors[0].line, refused.errors[0].field) == (2, "serial")
    assert _device("D1").dev_eui == "70B3D5E75E000001"
    outcome = run_import(world.alice, corrected, update_existing=True)
    assert (outcome.error_count, outcome.updated, outcome.unchanged) == (0, 1, 0)
    assert _device("D1").dev_eui == "70B3D5E75E0000AA"
    # The key did not change: no new version.
    assert _versions("D1") == [(1, "active")]
    again = run_import(world.alice, corrected, update_existing=True)
    assert (again.updated, again.unchanged) == (0, 1)


def test_an_empty_cell_neither_differs_nor_overwrites(world: World, write_file: WriteFile) -> None:
    first, second = random_key(), random_key()
    run_import(
        world.alice,
        write_file("1.csv", _csv({"serial": "E1", "dev_eui": "70B3D5E75E000001", "key": first})),
    )
    blank = run_import(
        world.alice, write_file("2.csv", _csv({"serial": "E1", "dev_eui": "", "key": first}))
    )
    assert (blank.error_count, blank.unchanged) == (0, 1)
    rekeyed = write_file("3.csv", _csv({"serial": "E1", "dev_eui": "", "key": second}))
    outcome = run_import(world.alice, rekeyed, update_existing=True)
    assert (outcome.error_count, outcome.updated) == (0, 1)
    assert _device("E1").dev_eui == "70B3D5E75E000001"
    assert _versions("E1") == [(1, "deactivated"), (2, "active")]
    assert _opens_to("E1", 2, second)


def test_many_devices_are_updated_in_one_import_each_to_its_next_version(
    world: World, write_file: WriteFile
) -> None:
    serials = [f"M{number:03d}" for number in range(40)]
    keys = {serial: random_key() for serial in serials}
    run_import(
        world.alice,
        write_file("1.csv", _csv(*({"serial": s, "dev_eui": "", "key": keys[s]} for s in serials))),
    )
    # Half of them are re-keyed twice, a quarter once more with new data, the rest unchanged.
    for round_number in (1, 2):
        for serial in serials[:20]:
            keys[serial] = random_key()
        rows = [
            {
                "serial": s,
                "dev_eui": f"70B3D5E75E{index:06X}" if round_number == 2 and index < 10 else "",
                "key": keys[s],
            }
            for index, s in enumerate(serials)
        ]
        outcome = run_import(
            world.alice, write_file(f"{round_number + 1}.csv", _csv(*rows)), update_existing=True
        )
        assert (outcome.error_count, outcome.updated, outcome.unchanged) == (0, 20, 20)
    for index, serial in enumerate(serials):
        if index < 20:
            assert _versions(serial) == [(1, "deactivated"), (2, "deactivated"), (3, "active")]
            assert _opens_to(serial, 3, keys[serial])
            runs = [details["run"] for _action, details in _history(serial)]
            assert _history(serial) == [
                ("import.updated", {"run": run, "new_keys": ["AppKey"]}) for run in runs
            ]
            assert len(set(runs)) == 2
        else:
            assert _versions(serial) == [(1, "active")]
            assert _opens_to(serial, 1, keys[serial])
            assert _history(serial) == []
        assert _device(serial).dev_eui == (f"70B3D5E75E{index:06X}" if index < 10 else "")


def test_an_update_changes_the_type_and_adds_labels(world: World, write_file: WriteFile) -> None:
    key = random_key()
    run_import(world.alice, write_file("1.csv", _csv({"serial": "T1", "dev_eui": "", "key": key})))
    text = f"serial;device_type;app_key;labels\nT1;Aquastream LoRa;{key};lot-1, spare\n"
    refused = run_import(world.alice, write_file("2.csv", text))
    assert refused.error_count == 1
    outcome = run_import(world.alice, write_file("2.csv", text), update_existing=True)
    assert (outcome.error_count, outcome.updated) == (0, 1)
    device = _device("T1")
    assert device.device_type.name == "Aquastream LoRa"
    names = set(
        DeviceLabel._base_manager.filter(device=device).values_list("label__name", flat=True)
    )
    assert names == {"lot-1", "spare"}
    assert _versions("T1") == [(1, "active")]
    ((action, details),) = _history("T1")
    assert (action, details["new_keys"]) == ("import.updated", [])
    event = DeviceEvent._base_manager.get(device=device)
    assert event.actor_label.startswith("Alice")


def test_a_generated_key_never_replaces_a_stored_one(world: World, write_file: WriteFile) -> None:
    key = random_key()
    run_import(world.alice, write_file("1.csv", _csv({"serial": "G1", "dev_eui": "", "key": key})))
    text = "serial;device_type;dev_eui\nG1;TOPAS Lora W8;70B3D5E75E0000FF\n"
    outcome = run_import(
        world.alice, write_file("2.csv", text), update_existing=True, generate_missing=True
    )
    assert (outcome.error_count, outcome.updated) == (0, 1)
    assert _device("G1").dev_eui == "70B3D5E75E0000FF"
    assert _versions("G1") == [(1, "active")]
    assert _opens_to("G1", 1, key)


#: The type each sample file's devices get (the samples name none).
SAMPLE_TYPES = {
    "csv": "CalecST III WM-Bus",
    "tts-csv": "TOPAS Lora W8",
    "json": "TOPAS Lora W8",
    "tts-json": "TOPAS Lora W8",
    "xlsx": "Aquastream WM-Bus",
    "kem": "CalecST III WM-Bus",
    "keylist": "Aquastream WM-Bus",
    "wmbusmeters": "Aquastream WM-Bus",
}
SUFFIXES = {"xlsx": ".xlsx", "kem": ".kem2", "json": ".json", "tts-json": ".json"}


@pytest.mark.parametrize("name", sorted(SAMPLE_TYPES))
def test_reimporting_a_file_of_any_format_leaves_every_device_unchanged(
    world: World, tmp_path: Path, name: str
) -> None:
    """What a format stores (addresses, media, versions, LoRaWAN ids) reads back equal."""
    if name == "kem":
        from meterkms.core import tenancy
        from meterkms.devices.services import create_device_type

        # A KEM file names its meters' type (MeterName).
        with tenancy.acting_as(world.alice):
            create_device_type(
                actor=world.alice,
                name="MC21",
                technology="wM-Bus",
                product_family="MULTICAL",
                key_slots=["OMS"],
            )
    path = tmp_path / f"devices{SUFFIXES.get(name, '.txt')}"
    path.write_bytes(samples([random_key() for _ in range(3)])[name])
    options = {"format": name, "default_type_id": type_id(SAMPLE_TYPES[name])}
    first = run_import(world.alice, path, **options)
    assert (first.error_count, first.valid) == (0, 3), first.errors
    second = run_import(world.alice, path, **options)
    assert (second.error_count, second.valid, second.unchanged) == (0, 0, 3), second.errors
    third = run_import(world.alice, path, update_existing=True, **options)
    assert (third.error_count, third.updated, third.unchanged) == (0, 0, 3)


def test_a_new_key_for_a_device_owned_elsewhere_now_is_a_warning(
    world: World, write_file: WriteFile
) -> None:
    """After a claim or hand-over, the new owner holds the old key: the import says so."""
    first, second = random_key(), random_key()
    run_import(
        world.alice, write_file("1.csv", _csv({"serial": "C1", "dev_eui": "", "key": first}))
    )
    Device._base_manager.filter(serial="C1").update(owner=world.org_b)
    retyped = write_file(
        "2.csv", _csv({"serial": "C1", "dev_eui": "70B3D5E75E0000C1", "key": first})
    )
    data_only = run_import(world.alice, retyped, update_existing=True)
    assert (data_only.error_count, data_only.updated, data_only.warning_count) == (0, 1, 0)
    rekeyed = write_file("3.csv", _csv({"serial": "C1", "dev_eui": "", "key": second}))
    outcome = run_import(world.alice, rekeyed, update_existing=True)
    assert (outcome.error_count, outcome.updated) == (0, 1)
    ((line, column, message),) = [(w.line, w.field, w.message) for w in outcome.warnings]
    assert (line, column) == (2, "AppKey")
    assert "another organisation" in message
    assert _versions("C1") == [(1, "deactivated"), (2, "active")]


def test_only_serials_within_the_registered_span_are_looked_up(
    world: World, write_file: WriteFile
) -> None:
    """Serials below the manufacturer's first or above its last cannot exist: no look-up;
    those within are compared as always (unchanged, or an error when they differ)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = {s: {"serial": s, "dev_eui": "", "key": random_key()} for s in ("M100", "M200")}
    assert run_import(world.alice, write_file("1.csv", _csv(*rows.values()))).error_count == 0
    outside = _csv(*({"serial": s, "dev_eui": "", "key": random_key()} for s in ("L9", "M3")))
    with CaptureQueriesContext(connection) as queries:
        fresh = run_import(world.alice, write_file("2.csv", outside))
    assert (fresh.error_count, fresh.valid, fresh.unchanged) == (0, 2, 0)
    assert not [q for q in queries.captured_queries if "dd.serial" in q["sql"]]
    within = _csv(
        rows["M100"],  # identical
        {"serial": "M200", "dev_eui": "", "key": random_key()},  # another key
        {"serial": "M150", "dev_eui": "", "key": random_key()},  # new, within the span
        {"serial": "M3", "dev_eui": "", "key": random_key()},  # the span's new end
    )
    outcome = run_import(world.alice, write_file("3.csv", within))
    assert (outcome.valid, outcome.unchanged) == (1, 1)
    assert [(e.line, e.field) for e in outcome.errors] == [(3, "serial"), (5, "serial")]
    assert not Device._base_manager.filter(serial="M150").exists()
