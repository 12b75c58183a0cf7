"""Tests of the Argon2id + chunked AES-256-GCM password container and its segment stream."""

import io
import struct

import argon2.profiles
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
)
from meterkms.vault.containers.password import (
    HEADER_SIZE,
    MAGIC,
    RFC_9106,
    Argon2Params,
    derive_key,
    read_password_container,
    read_password_header,
    write_password_container,
)

CHEAP = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
MANIFEST = b'{"manifest": "stand-in"}\n'


def seal(
    payload_chunks, *, password="correct horse", params=CHEAP, chunk_size=64, manifest=MANIFEST
):
    out = io.BytesIO()
    write_password_container(
        out,
        payload_chunks,
        lambda: manifest,
        password=password,
        params=params,
        chunk_size=chunk_size,
    )
    return out.getvalue()


def unseal(data, password="correct horse"):
    sink = io.BytesIO()
    manifest = read_password_container(io.BytesIO(data), sink, password=password)
    return sink.getvalue(), manifest


def segments(data):
    """Split a container into header and raw segments (kind, length, sealed bytes)."""
    header, rest, parts = data[:HEADER_SIZE], data[HEADER_SIZE:], []
    while rest:
        _, length = struct.unpack(">BI", rest[:5])
        parts.append(rest[: 5 + length + 16])
        rest = rest[5 + length + 16 :]
    return header, parts


@settings(max_examples=120, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    chunk_size=st.integers(min_value=1, max_value=200),
    manifest=st.binary(max_size=300),
)
def test_any_payload_and_chunking_round_trips_byte_for_byte(sizes, chunk_size, manifest):
    chunks = [bytes([n % 256]) * size for n, size in enumerate(sizes)]
    data = seal(chunks, chunk_size=chunk_size, manifest=manifest)
    assert unseal(data) == (b"".join(chunks), manifest)


def test_segments_are_opened_by_an_independent_aes_gcm_with_the_documented_nonces():
    payload = bytes(range(200))
    data = seal([payload], chunk_size=64)
    header = read_password_header(data)
    key = derive_key("correct horse", header.salt, header.params)
    plaintext = b""
    for counter, part in enumerate(segments(data)[1]):
        kind = part[0]
        nonce = header.prefix + counter.to_bytes(4, "big") + bytes([kind])
        opened = AESGCM(key).decrypt(nonce, part[5:], data[:50])
        plaintext += opened if kind & 0x7F == 1 else b""
    assert plaintext == payload
    assert segments(data)[1][-1][0] == 0x82  # the manifest closes the stream


def test_argon2_parameters_and_chunk_size_parse_back_from_the_header():
    params = Argon2Params(time_cost=2, memory_kib=96, parallelism=3)
    data = seal([b"x"], params=params, chunk_size=4096)
    header = read_password_header(data)
    assert header.params == params
    assert header.chunk_size == 4096
    assert len(header.salt) == 16
    assert data.startswith(MAGIC)
    assert read_password_header(seal([b"x"], params=params)).salt != header.salt


def test_default_parameters_are_rfc_9106_and_land_in_the_header():
    profile = argon2.profiles.RFC_9106_LOW_MEMORY
    assert (RFC_9106.time_cost, RFC_9106.memory_kib, RFC_9106.parallelism) == (
        profile.time_cost,
        profile.memory_cost,
        profile.parallelism,
    )
    out = io.BytesIO()
    write_password_container(out, [b"payload"], lambda: MANIFEST, password="pw")
    assert read_password_header(out.getvalue()).params == Argon2Params(3, 65536, 4)


def test_wrong_password_is_told_apart_from_damage():
    data = seal([b"payload"])
    with pytest.raises(WrongSecretError, match="wrong password") as caught:
        unseal(data, password="correct horsE")
    assert "horsE" not in str(caught.value)


def test_missing_password_asks_for_one():
    with pytest.raises(SecretRequiredError):
        unseal(seal([b"payload"]), password="")


def test_password_is_nfkc_normalised_so_equivalent_spellings_open_the_file():
    data = seal([b"payload"], password="ﬁle-Ｐassword")
    assert unseal(data, password="file-Password")[0] == b"payload"


def test_kdf_parameters_are_authenticated():
    data = bytearray(seal([b"payload"], params=Argon2Params(1, 64, 1)))
    data[14:18] = (72).to_bytes(4, "big")  # memory cost 64 -> 72 KiB
    with pytest.raises(WrongSecretError):
        unseal(bytes(data))


def test_every_flipped_bit_fails_and_never_returns_data():
    data = seal([b"serial;key\n" * 5], chunk_size=16, manifest=b"{}")
    for bit in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ContainerError):
            unseal(bytes(damaged))


def test_every_truncation_fails():
    data = seal([b"0123456789" * 10], chunk_size=32)
    for length in range(len(data)):
        with pytest.raises((DamagedFileError, UnsupportedFileError)):
            unseal(data[:length])


def test_reordered_segments_fail_authentication():
    header, parts = segments(seal([bytes(range(256))], chunk_size=64))
    swapped = header + parts[1] + parts[0] + b"".join(parts[2:])
    with pytest.raises(DamagedFileError, match="failed authentication"):
        unseal(swapped)


def test_a_dropped_middle_segment_fails():
    header, parts = segments(seal([bytes(range(256))], chunk_size=64))
    with pytest.raises(DamagedFileError, match="failed authentication"):
        unseal(header + parts[0] + b"".join(parts[2:]))


def test_truncation_at_a_segment_boundary_is_detected():
    header, parts = segments(seal([bytes(range(256))], chunk_size=64))
    with pytest.raises(DamagedFileError, match="truncated"):
        unseal(header + b"".join(parts[:-1]))


def test_data_after_the_final_segment_is_detected():
    with pytest.raises(DamagedFileError, match="after its authenticated end"):
        unseal(seal([b"payload"]) + b"\0")


def test_segments_spliced_from_another_file_fail():
    one, two = seal([bytes(200)], chunk_size=64), seal([bytes(200)], chunk_size=64)
    header, _ = segments(one)
    with pytest.raises(DamagedFileError):
        unseal(header + b"".join(segments(two)[1]))


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (8, b"\x02", "format version 2"),
        (9, b"\x07", "unknown key derivation"),
        (14, (1 << 21).to_bytes(4, "big"), "memory"),
        (10, (11).to_bytes(4, "big"), "time cost"),
        (39, (0).to_bytes(4, "big"), "chunk size"),
    ],
)
def test_unsupported_or_hostile_headers_are_refused_before_any_key_derivation(
    offset, value, message
):
    data = bytearray(seal([b"payload"]))
    data[offset : offset + len(value)] = value
    with pytest.raises(UnsupportedFileError, match=message):
        unseal(bytes(data))


def test_not_a_password_container_is_unsupported():
    with pytest.raises(UnsupportedFileError):
        unseal(b"PK\x03\x04 something else entirely, long enough for a header" * 2)


@pytest.mark.parametrize(
    "params", [Argon2Params(0, 64, 1), Argon2Params(1, 4, 1), Argon2Params(1, 64, 17)]
)
def test_writer_refuses_parameters_a_reader_would_refuse(params):
    with pytest.raises(ContainerError, match="Argon2 parameters refused"):
        seal([b"x"], params=params)


def test_writer_refuses_an_empty_password():
    with pytest.raises(ContainerError, match="password is required"):
        seal([b"x"], password="")
