"""The proof service: catalogue lookup, unsealing, verdicts, tenancy and the audit event."""

from __future__ import annotations

import json

import pytest

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.devices.enums import KeySlot, Technology
from meterkms.devices.models import DeviceType
from meterkms.keys.proofs import Scheme, Verdict, parse_frame
from meterkms.keys.proofs.encode import encode_join_request
from meterkms.keys.proofs.rows import BAD_LINE, ProofRow
from meterkms.keys.proofs.service import prove_traffic
from tests.support.personas import World

from .catalogue import (
    lorawan_device,
    random_key,
    topas_mode5,
    topas_mode7,
    wmbus_device,
)
from .test_checks import flip
from .vectors import (
    DES_MODE2,
    ELL_CTR,
    JOIN_ACCEPT,
    JOIN_REQUEST,
    MODE5_LONG_TPL,
    MODE7_WITH_CRCS,
    Vector,
)

pytestmark = pytest.mark.django_db

WMBUS_VECTORS = [
    (MODE5_LONG_TPL, KeySlot.OMS, Scheme.MODE5),
    (MODE7_WITH_CRCS, KeySlot.OMS, Scheme.MODE7),
    (DES_MODE2, KeySlot.DES, Scheme.DES_MODE2),
    (ELL_CTR, KeySlot.OMS, Scheme.ELL_CTR),
]


def register(world: World, vector: Vector, slot: KeySlot, key: bytes | None = None) -> int:
    """A device of org A under the vector's address, holding ``key`` (default: its own)."""
    address = parse_frame(vector.frame_bytes).address
    assert address is not None
    device = wmbus_device(
        world.org_a,
        f"V{address.identifier}",
        address.manufacturer,
        address.identifier,
        vector.key_bytes if key is None else key,
        slot=slot,
    )
    return device.pk


def prove(actor, text: str, **options) -> tuple[list[ProofRow], object]:
    run = prove_traffic(actor=actor, data=text, **options)
    return run.rows, run


@pytest.mark.parametrize(("vector", "slot", "scheme"), WMBUS_VECTORS, ids=lambda v: str(v))
def test_public_wmbus_vector_proves_the_stored_key(world: World, vector, slot, scheme):
    device_id = register(world, vector, slot)
    (row,), run = prove(world.olga, vector.frame)
    assert row.verdict == Verdict.PROVEN
    assert row.scheme is scheme
    assert [device.id for device in row.devices] == [device_id]
    assert row.key_slot == f"{slot} v1"
    assert row.checks
    assert all(check.passed for check in row.checks)
    assert run.proven_devices == {device_id}


@pytest.mark.parametrize(("vector", "slot", "scheme"), WMBUS_VECTORS, ids=lambda v: str(v))
def test_public_wmbus_vector_with_one_bit_of_the_key_flipped_is_a_wrong_key(
    world: World, vector, slot, scheme
):
    device_id = register(world, vector, slot, key=flip(vector.key_bytes, 9))
    (row,), run = prove(world.olga, vector.frame)
    assert row.verdict == Verdict.WRONG_KEY
    assert row.verdict_text == "wrong key?"
    assert not all(check.passed for check in row.checks)
    assert [device.id for device in row.devices] == [device_id]
    assert run.failed_devices == {device_id}
    assert not run.proven_devices


def test_one_bit_flipped_in_the_encrypted_block_fails_the_check(world: World):
    register(world, MODE5_LONG_TPL, KeySlot.OMS)
    frame = MODE5_LONG_TPL.frame_bytes
    telegram = parse_frame(frame)
    assert telegram.tpl is not None
    start = telegram.tpl.payload_start
    (row,), _run = prove(world.olga, flip(frame, start * 8 + 3).hex())
    assert row.verdict == Verdict.WRONG_KEY


def test_lorawan_join_request_and_accept_vectors_prove_the_app_key(world: World):
    dev_eui = parse_frame(JOIN_REQUEST.frame_bytes).address.identifier
    device = lorawan_device(world.org_a, "LORA1", dev_eui, JOIN_REQUEST.key_bytes)
    rows, run = prove(world.olga, f"{JOIN_REQUEST.frame}\n{JOIN_ACCEPT.frame}\n")
    assert [(r.scheme, r.verdict) for r in rows] == [
        (Scheme.JOIN_REQUEST, Verdict.PROVEN),
        (Scheme.JOIN_ACCEPT, Verdict.PROVEN),
    ]
    assert rows[0].join_eui == "70B3D57ED00000DC"
    assert rows[0].address == "DevEUI 00AFEE7CF5ED6F1E"
    assert {d.serial for r in rows for d in r.devices} == {"LORA1"}
    assert rows[0].key_slot == "AppKey v1"
    assert run.summary.proven_devices == 1
    assert run.proven_devices == {device.pk}


def test_lorawan_join_request_with_a_flipped_key_bit_is_a_wrong_key(world: World):
    dev_eui = parse_frame(JOIN_REQUEST.frame_bytes).address.identifier
    lorawan_device(world.org_a, "LORA1", dev_eui, flip(JOIN_REQUEST.key_bytes, 0))
    (row,), _run = prove(world.olga, JOIN_REQUEST.frame)
    assert row.verdict == Verdict.WRONG_KEY
    assert [(c.kind.value, c.passed) for c in row.checks] == [("MIC", False)]


def test_generated_mode5_and_mode7_telegrams_for_random_keys_are_proven(world: World):
    lines = []
    expected = {}
    for index in range(6):
        address = f"{31_000_000 + index:08d}"
        key = random_key()
        device = wmbus_device(world.org_a, f"T{index}", "AMT", address, key)
        expected[address] = device.pk
        lines.append(topas_mode5(address, key).hex())
        lines.append(topas_mode7(address, key, counter=index + 1).hex())
    rows, run = prove(world.olga, "\n".join(lines))
    assert [row.verdict for row in rows] == [Verdict.PROVEN] * 12
    assert [row.scheme for row in rows] == [Scheme.MODE5, Scheme.MODE7] * 6
    assert {row.devices[0].id for row in rows} == set(expected.values())
    assert [c.kind.value for c in rows[1].checks] == ["MAC", "2F2F"]
    assert run.summary.proven_devices == 6


def test_a_device_of_another_tree_is_never_tried(world: World):
    key = random_key()
    foreign = wmbus_device(world.org_b, "B1", "AMT", "40000003", key)
    (row,), run = prove(world.olga, topas_mode5("40000003", key).hex())
    assert row.verdict == Verdict.NO_DEVICE
    assert row.verdict_text == "no device with this address"
    assert row.devices == ()
    assert row.candidates_tried == 0
    assert run.summary.unknown_devices == 1
    (row,), _run = prove(world.cecil, topas_mode5("40000003", key).hex())
    assert row.verdict == Verdict.PROVEN
    assert row.devices[0].id == foreign.pk


def test_same_address_in_both_trees_tries_only_the_own_device(world: World):
    own_key, foreign_key = random_key(), random_key()
    own = wmbus_device(world.org_a, "A1", "AMT", "40000004", own_key)
    wmbus_device(world.org_b, "B1", "AMT", "40000004", foreign_key)
    (row,), run = prove(world.olga, topas_mode5("40000004", foreign_key).hex())
    assert row.verdict == Verdict.WRONG_KEY
    assert [d.id for d in row.devices] == [own.pk]
    assert row.candidates_tried == 1
    assert run.failed_devices == {own.pk}


def test_a_device_offered_in_an_open_batch_may_be_proven_by_the_receiver(world: World):
    key = random_key()
    device = wmbus_device(world.org_a, "OFF1", "AMT", "40000005", key)
    type(device)._base_manager.filter(pk=device.pk).update(claimable_by=world.org_b)
    (row,), _run = prove(world.cecil, topas_mode5("40000005", key).hex())
    assert row.verdict == Verdict.PROVEN


def test_child_organisation_devices_are_proven_from_the_parent(world: World):
    key = random_key()
    wmbus_device(world.org_a_child, "KID1", "AMT", "40000006", key)
    (row,), _run = prove(world.olga, topas_mode5("40000006", key).hex())
    assert row.verdict == Verdict.PROVEN


def test_viewer_may_not_prove(world: World):
    with pytest.raises(PermissionDenied):
        prove_traffic(actor=world.bob, data=MODE5_LONG_TPL.frame)


def test_input_without_any_telegram_is_refused(world: World):
    with pytest.raises(DomainError) as caught:
        prove_traffic(actor=world.olga, data="# only a comment\n\n")
    assert caught.value.code == "invalid"
    with tenancy.crossing("test reads the audit log"):
        assert not AuditEvent.objects.filter(action="keys.proved").exists()


def test_unusable_lines_and_cannot_tell_are_rows_in_line_order(world: World):
    compact = "1E44B4051234567801077900" + "00" * 20
    rows, run = prove(world.olga, f"zz\n{compact}\n\n{MODE5_LONG_TPL.frame}\n")
    assert [(row.line, row.verdict) for row in rows] == [
        (1, BAD_LINE),
        (2, Verdict.CANNOT_TELL),
        (4, Verdict.NO_DEVICE),
    ]
    assert rows[0].verdict_text == "unusable line"
    assert "not a hex digit" in rows[0].reason
    assert rows[1].reason_text.startswith("CI 79")
    assert run.summary.bad_lines == 1
    assert run.lines == 3


def test_every_chunk_reaches_on_rows_and_keep_limits_the_rows_returned(world: World):
    key = random_key()
    wmbus_device(world.org_a, "C1", "AMT", "40000007", key)
    lines = [topas_mode5("40000007", key, access).hex() for access in range(25)]
    seen: list[list[ProofRow]] = []
    run = prove_traffic(
        actor=world.olga, data="\n".join(lines), keep=7, on_rows=seen.append, chunk_size=10
    )
    assert [len(chunk) for chunk in seen] == [10, 10, 5]
    assert [row.line for chunk in seen for row in chunk] == list(range(1, 26))
    assert len(run.rows) == 7
    assert run.truncated
    assert run.lines == 25
    assert run.summary.telegram_verdicts[Verdict.PROVEN] == 25
    assert run.summary.proven_devices == 1


def test_the_run_is_audited_once_with_counts_and_device_ids_only(world: World):
    key, wrong = random_key(), random_key()
    good = wmbus_device(world.org_a, "G1", "AMT", "40000008", key)
    bad = wmbus_device(world.org_a, "W1", "AMT", "40000009", wrong)
    frames = [topas_mode5("40000008", key), topas_mode5("40000009", key)]
    text = "\n".join(frame.hex() for frame in frames) + "\nnot hex\n"
    prove_traffic(actor=world.olga, data=text, source="capture.log", channel="web")
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="keys.proved")
    assert event.data == {
        "source": "capture.log",
        "telegrams": 2,
        "bad_lines": 1,
        "verdicts": {"proven": 1, "wrong": 1, "no_device": 0, "cannot_tell": 0},
        "devices": {"proven": 1, "wrong": 1, "unknown": 0},
        "proven_device_ids": [good.pk],
        "failed_device_ids": [bad.pk],
        "device_ids_complete": True,
        "unreadable_blobs": 0,
    }
    assert event.channel == "web"
    assert event.actor_id == world.olga.pk
    assert event.organisation_id == world.org_a.pk
    stored = json.dumps(event.data) + event.target_repr
    for secret in (key.hex(), key.hex().upper(), wrong.hex(), frames[0].hex()[30:]):
        assert secret not in stored


def test_the_audit_event_names_a_bounded_number_of_devices(world: World, monkeypatch):
    from meterkms.keys.proofs import service

    monkeypatch.setattr(service, "AUDIT_DEVICE_IDS", 2)
    keys = [random_key() for _ in range(3)]
    devices = [
        wmbus_device(world.org_a, f"B{n}", "AMT", f"4100000{n}", key) for n, key in enumerate(keys)
    ]
    text = "\n".join(topas_mode5(f"4100000{n}", key).hex() for n, key in enumerate(keys))
    prove_traffic(actor=world.olga, data=text)
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="keys.proved")
    assert event.data["devices"]["proven"] == 3
    assert event.data["proven_device_ids"] == sorted(d.pk for d in devices)[:2]
    assert event.data["device_ids_complete"] is False


def test_technology_can_be_forced(world: World):
    dev_eui = "70B3D5E75E000042"
    key = random_key()
    lorawan_device(world.org_a, "L42", dev_eui, key)
    frame = encode_join_request(key, join_eui="70B3D5E75E000000", dev_eui=dev_eui, dev_nonce=7)
    (row,), _run = prove(world.olga, frame.hex(), technology=Technology.LORAWAN)
    assert row.verdict == Verdict.PROVEN
    (row,), _run = prove(world.olga, frame.hex(), technology=Technology.WMBUS)
    assert row.verdict in (BAD_LINE, Verdict.CANNOT_TELL)


@pytest.mark.django_db(transaction=True)
def test_a_capture_of_many_chunks_gives_the_same_answer_with_lookups_ahead(monkeypatch):
    from django.db import connection

    from meterkms.keys.proofs import service
    from tests.support.personas import build_world

    world = build_world()
    # Its own type: an earlier transactional test may have flushed the shared ones.
    meter = DeviceType._base_manager.create(
        name="Pipelined meter", technology="wM-Bus", key_slots=["OMS"], organisation=world.org_a
    )
    keys = {f"{41_000_000 + n:08d}": random_key() for n in range(12)}
    for n, (address, key) in enumerate(keys.items()):
        stored = key if n % 3 else random_key()
        wmbus_device(world.org_a, f"P{n}", "AMT", address, stored, device_type=meter)
    lines = [topas_mode5(address, key).hex() for address, key in keys.items()]
    lines += [topas_mode5("49999999", random_key()).hex(), "zz"]
    pipelined = []
    original = service._pipelined
    monkeypatch.setattr(service, "_pipelined", lambda *a: pipelined.append(1) or original(*a))
    run = prove_traffic(actor=world.olga, data="\n".join(lines), chunk_size=5)
    assert bool(pipelined) == (connection.vendor == "postgresql")
    assert [row.verdict for row in run.rows] == [
        Verdict.WRONG_KEY if n % 3 == 0 else Verdict.PROVEN for n in range(12)
    ] + [Verdict.NO_DEVICE, BAD_LINE]
    assert [row.devices[0].serial for row in run.rows[:12]] == [f"P{n}" for n in range(12)]
    assert run.summary.proven_devices == 8
    assert len(run.failed_devices) == 4
