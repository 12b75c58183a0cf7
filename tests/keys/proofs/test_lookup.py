"""The catalogue lookup: which devices and keys a telegram's address finds, and unsealing."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from meterkms.devices.enums import KeySlot
from meterkms.devices.models import DeviceKey, KeyState
from meterkms.keys.proofs import Verdict
from meterkms.keys.proofs.encode import encrypt_mode5
from meterkms.keys.proofs.lookup import CatalogueLookup
from meterkms.keys.proofs.service import audit_data, prove_traffic
from tests.support.catalogue import make_device
from tests.support.personas import World

from .catalogue import add_key, aquastream_plain, random_key, topas_mode5, wmbus_device

pytestmark = pytest.mark.django_db


def prove(actor, text: str):
    run = prove_traffic(actor=actor, data=text)
    return run.rows, run


def test_meter_behind_a_module_is_found_by_its_module_address(world: World):
    key = random_key()
    plain = aquastream_plain()
    device = make_device(world.org_a, "AQ1", wmbus_manufacturer="IMT", module_address="10049257")
    add_key(device, KeySlot.OMS, key)
    (row,), _run = prove(world.olga, encrypt_mode5(plain, key).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.address == "IMT 10049257"  # the key was found under the module's address
    assert row.tpl_address.startswith("IMT 05933237")
    assert row.iv_source is not None
    assert row.iv_source.value == "tpl"  # the meter's own address fed the IV
    assert row.iv_address == row.tpl_address


def test_a_radio_module_of_another_maker_is_found_by_its_digits(world: World):
    key = random_key()
    device = make_device(world.org_a, "AQ3", wmbus_manufacturer="AMT", module_address="10049257")
    add_key(device, KeySlot.OMS, key)
    (row,), _run = prove(world.olga, encrypt_mode5(aquastream_plain(), key).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.devices[0].serial == "AQ3"


def test_meter_behind_a_module_is_found_by_its_own_address_first(world: World):
    key = random_key()
    wmbus_device(world.org_a, "AQ2", "IMT", "05933237", key)
    (row,), _run = prove(world.olga, encrypt_mode5(aquastream_plain(), key).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.address == "IMT 05933237"
    assert row.link_address.startswith("IMT 10049257")


def test_a_second_slot_is_tried_when_the_first_key_fails(world: World):
    key = random_key()
    device = wmbus_device(world.org_a, "M2", "AMT", "40000001", random_key())
    add_key(device, KeySlot.MBUS, key)
    (row,), _run = prove(world.olga, topas_mode5("40000001", key).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.key_slot == "MBUS v1"
    assert row.candidates_tried == 2


def test_deactivated_keys_are_not_tried_but_pre_active_ones_are(world: World):
    old, new = random_key(), random_key()
    device = wmbus_device(world.org_a, "K1", "AMT", "40000002")
    add_key(device, KeySlot.OMS, old, state=KeyState.DEACTIVATED.value)
    (row,), _run = prove(world.olga, topas_mode5("40000002", old).hex())
    assert row.verdict == Verdict.NO_DEVICE
    add_key(device, KeySlot.OMS, new, version=2, state=KeyState.PRE_ACTIVE.value)
    (row,), _run = prove(world.olga, topas_mode5("40000002", new).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.key_slot == "OMS v2"


def test_a_key_that_does_not_open_is_skipped_and_counted(world: World, caplog):
    key = random_key()
    device = wmbus_device(world.org_a, "X1", "AMT", "40000010", key)
    other = wmbus_device(world.org_a, "X2", "AMT", "40000011", key)
    DeviceKey._base_manager.filter(device=device).update(
        sealed=DeviceKey._base_manager.get(device=other).sealed  # bound to another row
    )
    text = f"{topas_mode5('40000010', key).hex()}\n{topas_mode5('40000011', key).hex()}"
    with caplog.at_level(logging.WARNING):
        rows, run = prove(world.olga, text)
    assert [row.verdict for row in rows] == [Verdict.NO_DEVICE, Verdict.PROVEN]
    assert run.unreadable_keys == 1
    assert f"device {device.pk}" in caplog.text
    assert key.hex() not in caplog.text.lower()
    assert audit_data(run)["unreadable_blobs"] == 1


def test_keys_are_opened_only_for_rows_that_answer_a_telegram(world: World, monkeypatch):
    from meterkms.vault.engine import Vault

    key = random_key()
    wmbus_device(world.org_a, "AMT-20", "AMT", "40000020", key)
    wmbus_device(world.org_a, "KAM-21", "KAM", "40000021", key)
    amt_21 = bytearray(topas_mode5("40000021", key))
    kam_20 = bytearray(topas_mode5("40000020", key))
    kam_20[2:4] = bytes.fromhex("2D2C")  # M field: KAM
    opened: list[int] = []
    original = Vault.unseal_batch

    def counting(self, **kwargs):
        opened.append(len(kwargs["items"]))
        return original(self, **kwargs)

    monkeypatch.setattr(Vault, "unseal_batch", counting)
    fetched: list[int] = []
    rows_of_chunk = CatalogueLookup.rows

    def recording(self, wanted):
        found = rows_of_chunk(self, wanted)
        fetched.append(len(found))
        return found

    monkeypatch.setattr(CatalogueLookup, "rows", recording)
    rows, _run = prove(world.olga, f"{bytes(amt_21).hex()}\n{bytes(kam_20).hex()}")
    assert fetched == [2]
    # The query matches codes and digits each on their own: both rows come back, and
    # neither is the device of either telegram.
    assert [row.verdict for row in rows] == [Verdict.NO_DEVICE, Verdict.NO_DEVICE]
    assert opened == []


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
@pytest.mark.parametrize("modules", [False, True])
def test_a_chunk_of_many_addresses_is_looked_up_through_the_partial_indexes(
    world: World, modules: bool
):
    """More than 100 addresses: PostgreSQL only uses the partial address indexes when the
    query repeats their condition (a plan check, with plain and sequential scans off)."""
    from django.db import connection

    from meterkms.core import tenancy
    from meterkms.devices.enums import Technology
    from meterkms.keys.proofs.model import DeviceAddress

    wmbus_device(world.org_a, "M1", "AMT", "10000001", random_key())
    if modules:
        make_device(world.org_a, "AQ9", wmbus_manufacturer="IMT", module_address="10049257")
    wanted = {DeviceAddress(Technology.WMBUS, "AMT", f"{10000000 + n:08d}") for n in range(150)}
    wanted |= {DeviceAddress(Technology.LORAWAN, "", f"70B3D57ED00{n:05X}") for n in range(150)}
    from meterkms.devices.models import Device

    with tenancy.acting_as(world.olga):
        match = CatalogueLookup(world.olga).address_match(wanted)
    with connection.cursor() as cursor:
        # Only bitmap scans left: they need an index whose condition the query implies.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = Device._base_manager.filter(match).order_by().explain()
    assert "Seq Scan on devices_device" not in plan, plan
    assert "device_wmbus_addr" in plan, plan
    assert "device_dev_eui" in plan, plan
    assert ("device_module_addr" in plan) is modules, plan


@pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
@pytest.mark.postgres
def test_live_keys_are_covered_by_an_index_holding_their_sealed_blobs():
    """The covering index holds what the lookup selects from the keys (so PostgreSQL can
    answer it index-only; the benchmark's plans show it does), and its condition is the
    lookup's live states (a change to either must change both)."""
    from django.db import connection

    from meterkms.keys.proofs.lookup import LIVE_STATES

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'devices_devicekey' "
            "AND indexdef LIKE '%%(device_id, slot)%%'"
        )
        rows = cursor.fetchall()
    # One index holds the live keys: unique per slot, and covering for the lookup.
    assert [name for name, _definition in rows] == ["key_one_live_per_slot"], rows
    ((_name, definition),) = rows
    assert definition.startswith("CREATE UNIQUE INDEX"), definition
    assert "(device_id, slot) INCLUDE (version, sealed)" in definition
    for state in LIVE_STATES:
        assert f"'{state}'" in definition
    assert definition.count("'") == 2 * len(LIVE_STATES)


def test_collection_is_back_on_after_a_run_that_fails(world: World):
    import gc

    from meterkms.core.errors import DomainError

    with pytest.raises(DomainError):
        prove_traffic(actor=world.olga, data="# only a comment\n")
    assert gc.isenabled()
