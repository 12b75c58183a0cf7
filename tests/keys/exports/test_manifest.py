"""Tests of the export manifest: canonical JSON, validation, and checks against a payload."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import SLOT_ALGORITHMS, KeySlot
from meterkms.keys.exports.manifest import (
    Exporter,
    KeyCheck,
    Manifest,
    ManifestError,
    PayloadInfo,
)
from meterkms.vault.algorithms import Algorithm

PAYLOAD = b"serial;key\n61070071;A004EB23329A477F1DD2D7820B56EB3D\n"
EXPORTER = Exporter("Alice Ärger", "alice@example.org", "Stadtwerke Musterstadt")


def manifest(**changes):
    fields = {
        "format": "simple-csv",
        "protection": "password",
        "created_at": datetime(2026, 11, 27, 10, 15, 30, 123456, tzinfo=UTC),
        "download_id": "7c4a1e0e-1d2f-4d55-9d43-3f4f7f0b1a2c",
        "exporter": EXPORTER,
        "payload": PayloadInfo(
            "keys.csv", "text/csv", len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest()
        ),
        "key_checks": (
            KeyCheck("61070071", KeySlot.OMS, Algorithm.AES128, "1A2B3C"),
            KeyCheck("61070071", KeySlot.MBUS, Algorithm.AES256, "ABCDEF"),
            KeyCheck("00000042", KeySlot.DES, Algorithm.TDES, "08D7B4"),
        ),
    }
    return Manifest(**(fields | changes))


key_checks = st.lists(
    st.builds(
        lambda device, slot, data, kcv: KeyCheck(
            device, slot, data.draw(st.sampled_from(SLOT_ALGORITHMS[slot])), kcv
        ),
        st.text(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=20
        ),
        st.sampled_from(list(KeySlot)),
        st.data(),
        st.from_regex(r"[0-9A-F]{6}", fullmatch=True),
    ),
    max_size=12,
    unique_by=lambda check: (check.device, check.slot),
)


def test_json_has_the_documented_fields_in_a_stable_order():
    data = json.loads(manifest().to_json())
    assert list(data) == [
        "manifest_version", "format", "protection", "created_at", "download_id", "exporter",
        "payload", "device_count", "key_count", "key_check_value", "key_check_values",
    ]  # fmt: skip
    assert data["created_at"] == "2026-11-27T10:15:30Z"
    assert (data["device_count"], data["key_count"]) == (2, 3)
    assert data["key_check_values"][2] == {
        "device": "00000042", "slot": "DES", "algorithm": "3DES", "kcv": "08D7B4",
    }  # fmt: skip
    assert data["payload"]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()


def test_one_key_check_value_per_line_keeps_large_manifests_diffable():
    lines = manifest().to_json().decode().splitlines()
    assert sum('"kcv"' in line for line in lines) == 3


@settings(max_examples=150, deadline=None)
@given(checks=key_checks, name=st.text(max_size=30).filter(lambda s: s.isprintable()))
def test_any_valid_manifest_round_trips_through_its_json(checks, name):
    original = manifest(key_checks=tuple(checks), exporter=Exporter(name, "", "Org"))
    parsed = Manifest.from_json(original.to_json())
    assert parsed == original
    assert parsed.to_json() == original.to_json()
    assert parsed.device_count == len({c.device for c in checks})


def test_local_times_are_written_in_utc_to_the_second():
    berlin = timezone(timedelta(hours=1))
    moment = manifest(created_at=datetime(2026, 11, 27, 11, 15, 30, 999, tzinfo=berlin))
    assert moment.created_at == datetime(2026, 11, 27, 10, 15, 30, tzinfo=UTC)


def test_naive_times_are_refused():
    with pytest.raises(ManifestError, match="time zone"):
        manifest(created_at=datetime(2026, 11, 27, 10, 15, 30))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"key_count": 3', '"key_count": 4'), "key_count does not match"),
        (lambda t: t.replace('"device_count": 2', '"device_count": 3'), "device_count"),
        (lambda t: t.replace('"kcv": "1A2B3C"', '"kcv": "1a2b3c"'), "6 upper-case hex"),
        (lambda t: t.replace('"slot": "DES"', '"slot": "OMS"'), "cannot hold a 3DES key"),
        (lambda t: t.replace('"manifest_version": 1', '"manifest_version": 2'), "not supported"),
        (lambda t: t.replace('"size": ', '"size": -'), "payload.size"),
        (lambda t: t.replace(f'"size": {len(PAYLOAD)}', '"size": true'), "payload.size"),
        (lambda t: t.replace('"name": "keys.csv"', '"name": "../keys.csv"'), "payload.name"),
        (lambda t: t.replace("10:15:30Z", "10:15:30+01:00"), "created_at"),
        (
            lambda t: t.replace('"format": "simple-csv",', '"format": "simple-csv", "x": 1,'),
            "fields",
        ),
        (lambda t: t.replace('"format": "simple-csv"', '"format": "a", "format": "b"'), "twice"),
        (lambda t: t.replace("\n  ", "\n   ", 1), "canonical"),
        (lambda t: t[:-2], "not valid UTF-8 JSON"),
    ],
)
def test_edited_manifests_are_refused_with_the_field_named(edit, message):
    text = manifest().to_json().decode()
    edited = edit(text)
    assert edited != text
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(edited.encode())


def test_a_device_slot_pair_may_appear_only_once():
    twice = (KeyCheck("1", KeySlot.OMS, Algorithm.AES128, "000000"),) * 2
    with pytest.raises(ManifestError, match="twice"):
        manifest(key_checks=twice)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("format", "Simple CSV", "format"),
        ("download_id", "", "download_id"),
        ("download_id", "a\nb", "download_id"),
        ("protection", "", "protection"),
    ],
)
def test_invalid_fields_are_named(field, value, message):
    with pytest.raises(ManifestError, match=message):
        manifest(**{field: value})


def test_exporter_fields_may_not_carry_control_characters():
    with pytest.raises(ManifestError, match=r"exporter\.email: must be at most 254"):
        Exporter("Alice", "alice@example.org\r\nBcc: x", "Org")


def test_verify_accepts_the_payload_it_describes():
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert manifest().verify(
        protection="password", size=len(PAYLOAD), sha256=sha, payload_name=None
    )


@pytest.mark.parametrize(
    ("found", "message"),
    [
        ({"protection": "none"}, "says 'password'"),
        ({"size": len(PAYLOAD) + 1}, "bytes, not"),
        ({"sha256": "0" * 64}, "SHA-256 differs"),
        ({"payload_name": "other.csv"}, "other.csv"),
    ],
)
def test_verify_refuses_a_payload_that_differs(found, message):
    actual = {
        "protection": "password",
        "size": len(PAYLOAD),
        "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
        "payload_name": "keys.csv",
    }
    with pytest.raises(ManifestError, match=message):
        manifest().verify(**(actual | found))
