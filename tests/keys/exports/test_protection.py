"""Tests of protecting export files with every method and opening and verifying them again."""

import base64
import io
import re
import tracemalloc
import zipfile
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.manifest import ExportDescription, Exporter, KeyCheck, Manifest
from meterkms.keys.exports.protection import (
    DEFAULT_PROTECTION,
    XMLENC_ALGORITHMS,
    DeviceKey,
    Protection,
    ProtectionError,
    detect_protection,
    open_export,
    open_export_to,
    protect,
    protect_bytes,
)
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.containers import (
    Argon2Params,
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
    generate_recipient_keypair,
    key_check_value,
)
from meterkms.vault.containers.password import write_password_container
from meterkms.vault.containers.plain import write_plain_container
from meterkms.vault.containers.recipient import KeyToWrap, write_recipient_container

CHEAP = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
PASSWORD = "Export-Pass-7!"
DESCRIPTION = ExportDescription(
    format="simple-csv",
    payload_name="keys.csv",
    media_type="text/csv",
    exporter=Exporter("Alice", "alice@example.org", "Stadtwerke Musterstadt"),
    download_id="dl-0001",
    created_at=datetime(2026, 11, 27, 10, 15, 30, tzinfo=UTC),
)
KEYS = (
    DeviceKey(
        "61070071", KeySlot.OMS, Algorithm.AES128, bytes.fromhex("A004EB23329A477F1DD2D7820B56EB3D")
    ),
    DeviceKey(
        "61070072", KeySlot.OMS, Algorithm.AES128, bytes.fromhex("28F64A24988064A079AA2C807D6102AE")
    ),
    DeviceKey("61070072", KeySlot.MBUS, Algorithm.AES256, bytes(range(32))),
)
PAYLOAD = b"serial;slot;key\n" + b"".join(
    f"{k.device};{k.slot};{k.key.hex()}\n".encode() for k in KEYS
)
RECIPIENT = generate_recipient_keypair(2048)
STRANGER = generate_recipient_keypair(2048)


def options(method, **changes):
    """protect() arguments that make ``method`` work, with cheap Argon2 for tests."""
    result = {
        "protection": method,
        "description": DESCRIPTION,
        "keys": KEYS,
        "argon2": CHEAP,
        "chunk_size": 64,
        "password": PASSWORD if method == Protection.PASSWORD or method.weak else None,
        "recipient_public_key": RECIPIENT.public_pem if method == Protection.RECIPIENT else None,
    }
    return result | changes


def secrets(method):
    return {"password": PASSWORD, "private_key": RECIPIENT.private_pem}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(list(Protection)),
    sizes=st.lists(st.integers(min_value=0, max_value=700), max_size=5),
    chunk_size=st.sampled_from([1, 16, 64, 1000]),
)
def test_every_method_returns_the_payload_byte_for_byte(method, sizes, chunk_size):
    chunks = [bytes([n * 37 % 256]) * size for n, size in enumerate(sizes)]
    data, written = protect_bytes(iter(chunks), **options(method, chunk_size=chunk_size))
    opened = open_export(data, **secrets(method))
    assert opened.payload == b"".join(chunks)
    assert opened.manifest == written
    assert opened.protection == method
    assert detect_protection(data) == method


@pytest.mark.parametrize("method", list(Protection))
def test_manifest_lists_size_hash_counts_and_key_check_values(method):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    manifest = open_export(data, **secrets(method)).manifest
    assert manifest.payload.size == len(PAYLOAD)
    assert (manifest.device_count, manifest.key_count) == (2, 3)
    assert [c.kcv for c in manifest.key_checks] == [
        key_check_value(k.key, k.algorithm) for k in KEYS
    ]
    assert manifest.protection == method.value
    assert manifest.exporter == DESCRIPTION.exporter


@pytest.mark.parametrize("method", list(Protection))
def test_files_open_from_a_path(method, tmp_path):
    path = tmp_path / f"keys.csv{method.file_suffix}"
    with path.open("wb") as out:
        protect(out, PAYLOAD, **options(method))
    assert detect_protection(path) == method
    assert open_export(path, **secrets(method)).payload == PAYLOAD


def test_precomputed_key_checks_are_carried_unchanged():
    checks = [KeyCheck("61070071", KeySlot.OMS, Algorithm.AES128, "ABCDEF")]
    data, _ = protect_bytes(PAYLOAD, **options(Protection.NONE, keys=(), key_checks=checks))
    assert open_export(data).manifest.key_checks == tuple(checks)


@pytest.mark.parametrize("method", [Protection.PASSWORD, *XMLENC_ALGORITHMS])
def test_wrong_password_is_reported_as_such(method):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    with pytest.raises(WrongSecretError, match="wrong password") as caught:
        open_export(data, password="Export-Pass-8!")
    assert "Pass-8" not in str(caught.value)


@pytest.mark.parametrize("method", [Protection.PASSWORD, *XMLENC_ALGORITHMS, Protection.RECIPIENT])
def test_missing_secret_asks_for_it(method):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    with pytest.raises(SecretRequiredError):
        open_export(data)


def test_wrong_private_key_is_reported_with_both_fingerprints():
    data, _ = protect_bytes(PAYLOAD, **options(Protection.RECIPIENT))
    with pytest.raises(WrongSecretError, match="this file is for the key with SHA-256"):
        open_export(data, private_key=STRANGER.private_pem)


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(list(Protection)), where=st.floats(0, 1), bit=st.integers(0, 7))
def test_one_flipped_bit_anywhere_fails_cleanly(method, where, bit):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    damaged = bytearray(data)
    damaged[min(int(where * len(data)), len(data) - 1)] ^= 1 << bit
    with pytest.raises(ContainerError):
        open_export(bytes(damaged), **secrets(method))


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(list(Protection)), where=st.floats(0, 1, exclude_max=True))
def test_truncated_files_fail_cleanly(method, where):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    with pytest.raises((DamagedFileError, UnsupportedFileError)):
        open_export(data[: int(where * len(data))], **secrets(method))


def test_reordered_chunks_of_a_password_file_fail():
    data, _ = protect_bytes(PAYLOAD, **options(Protection.PASSWORD, chunk_size=16))
    header, body, parts = data[:66], data[66:], []
    while body:
        length = int.from_bytes(body[1:5], "big") + 21
        parts.append(body[:length])
        body = body[length:]
    parts[1], parts[2] = parts[2], parts[1]
    with pytest.raises(DamagedFileError, match="failed authentication"):
        open_export(header + b"".join(parts), password=PASSWORD)


def manifest_for(payload, **changes):
    import hashlib

    from meterkms.keys.exports.manifest import PayloadInfo

    fields = {
        "format": "simple-csv", "protection": "none", "created_at": DESCRIPTION.created_at,
        "download_id": "dl-0001", "exporter": DESCRIPTION.exporter,
        "payload": PayloadInfo("keys.csv", "text/csv", len(payload),
                               hashlib.sha256(payload).hexdigest()),
        "key_checks": (),
    }  # fmt: skip
    return Manifest(**(fields | changes)).to_json()


def test_payload_that_does_not_match_the_manifest_hash_is_refused():
    out = io.BytesIO()
    other = PAYLOAD.replace(b"a004", b"b004")
    assert other != PAYLOAD
    write_plain_container(out, [other], lambda: manifest_for(PAYLOAD), payload_name="keys.csv",
                          date_time=(2026, 11, 27, 10, 15, 30))  # fmt: skip
    with pytest.raises(DamagedFileError, match="SHA-256 differs"):
        open_export(out.getvalue())


def test_manifest_claiming_another_protection_is_refused():
    out = io.BytesIO()
    write_password_container(out, [PAYLOAD], lambda: manifest_for(PAYLOAD), password=PASSWORD,
                             params=CHEAP)  # fmt: skip
    with pytest.raises(DamagedFileError, match="says 'none'"):
        open_export(out.getvalue(), password=PASSWORD)


def test_recipient_manifest_must_list_the_wrapped_keys():
    out = io.BytesIO()
    wrapped = [KeyToWrap(k.device, k.slot, k.algorithm, k.key) for k in KEYS]
    claimed = (KeyCheck("61070071", KeySlot.OMS, Algorithm.AES128, "000000"),)
    write_recipient_container(
        out, [PAYLOAD], wrapped,
        lambda: manifest_for(PAYLOAD, protection="recipient", key_checks=claimed),
        public_key_pem=RECIPIENT.public_pem, date_time=(2026, 11, 27, 10, 15, 30),
    )  # fmt: skip
    with pytest.raises(DamagedFileError, match="differ from the wrapped keys"):
        open_export(out.getvalue(), private_key=RECIPIENT.private_pem)


@pytest.mark.parametrize("method", list(XMLENC_ALGORITHMS))
def test_compatible_payload_decrypts_independently_with_password_as_key_and_iv(method):
    data, _ = protect_bytes(PAYLOAD, **options(method))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        document = archive.read(names[0])
    factory, key_size, block = {
        Protection.XMLENC_3DES: (TripleDES, 24, 8),
        Protection.XMLENC_AES128: (algorithms.AES, 16, 16),
        Protection.XMLENC_AES192: (algorithms.AES, 24, 16),
        Protection.XMLENC_AES256: (algorithms.AES, 32, 16),
    }[method]
    key = PASSWORD.encode().ljust(key_size, b"\0")
    ciphertext = base64.b64decode(re.search(rb"<CipherValue>(.*)</CipherValue>", document)[1])
    decryptor = Cipher(factory(key), modes.CBC(key[:block])).decryptor()
    unpadder = padding.PKCS7(block * 8).unpadder()
    plain = (
        unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()
    )
    assert plain == PAYLOAD
    assert re.fullmatch(r"[0-9A-F]{32}\.kem", names[0])
    assert names[1] == "manifest.xenc"
    assert XMLENC_ALGORITHMS[method].encode() in document


def test_compatible_kem_payload_looks_like_a_kamstrup_file():
    xml = {"media_type": "application/xml", "payload_name": "keys.xml"}
    description = ExportDescription(**(DESCRIPTION.__dict__ | xml))
    data, _ = protect_bytes(
        b"<MetersInOrder/>", **options(Protection.XMLENC_AES128, description=description)
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = archive.read(archive.namelist()[0])
    assert b"MimeType" not in document
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?><EncryptedData')


@pytest.mark.parametrize(
    ("method", "password"), [(m, "x" * (n + 1)) for m, n in [(Protection.XMLENC_AES128, 16),
                             (Protection.XMLENC_3DES, 24), (Protection.XMLENC_AES256, 32)]]
)  # fmt: skip
def test_compatible_methods_refuse_passwords_they_would_silently_cut(method, password):
    with pytest.raises(ProtectionError, match="at most"):
        protect_bytes(PAYLOAD, **options(method, password=password))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protection": Protection.PASSWORD, "password": None}, "needs a password"),
        ({"protection": Protection.XMLENC_AES128, "password": ""}, "needs a password"),
        ({"protection": Protection.RECIPIENT, "recipient_public_key": None}, "public key"),
        ({"key_checks": [KeyCheck("1", KeySlot.OMS, Algorithm.AES128, "000000")]}, "either keys"),
        ({"protection": "rot13"}, "rot13"),
    ],
)
def test_protect_refuses_incomplete_requests_before_writing(changes, message):
    out = io.BytesIO()
    with pytest.raises(ValueError, match=message):
        protect(out, PAYLOAD, **(options(Protection.PASSWORD) | changes))
    assert out.getvalue() == b""


def test_defaults_and_labels_say_which_methods_are_weak():
    assert DEFAULT_PROTECTION == Protection.PASSWORD
    assert {m for m in Protection if m.weak} == set(XMLENC_ALGORITHMS)
    assert all("WEAK" in m.label for m in XMLENC_ALGORITHMS)
    assert not any("WEAK" in m.label for m in Protection if not m.weak)
    assert Protection.XMLENC_AES128.file_suffix == ".zip.kem"


def test_a_foreign_file_is_unsupported():
    with pytest.raises(UnsupportedFileError, match="not a meterkms export"):
        open_export(b"serial;key\n1;00\n")
    with pytest.raises(UnsupportedFileError, match="not a meterkms export"):
        detect_protection(b"")


def test_streaming_open_may_leave_partial_output_but_one_shot_open_returns_nothing():
    data, _ = protect_bytes(PAYLOAD * 20, **options(Protection.PASSWORD, chunk_size=64))
    damaged = data[:-200] + bytes([data[-200] ^ 1]) + data[-199:]
    sink = io.BytesIO()
    with pytest.raises(DamagedFileError):
        open_export_to(damaged, sink, password=PASSWORD)
    assert sink.getvalue()  # documented: the caller discards it
    with pytest.raises(DamagedFileError):
        open_export(damaged, password=PASSWORD)


class Discard:
    def write(self, data):
        return len(data)


@pytest.mark.parametrize("method", list(Protection))
def test_large_payloads_stream_in_bounded_memory(method):
    block = bytes(range(256)) * 256  # 64 KiB
    total = 128  # 8 MiB
    tracemalloc.start()
    try:
        protect(Discard(), (block for _ in range(total)), **options(method, chunk_size=64 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"{method}: peak {peak} bytes for 8 MiB of payload"


@pytest.mark.parametrize("method", list(Protection))
def test_an_empty_payload_without_keys_round_trips(method):
    data, _ = protect_bytes(b"", **options(method, keys=()))
    opened = open_export(data, **secrets(method))
    assert opened.payload == b""
    assert (opened.manifest.device_count, opened.manifest.key_count) == (0, 0)
