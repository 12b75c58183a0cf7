"""The recipient container: a file only the holder of one RSA private key can open.

A canonical ZIP (see ``zipped``) with four members, in this order:

``payload.enc``
    The payload, chunked AES-256-GCM (see ``stream``) under HKDF-SHA256(K, info
    "meterkms recipient v1 payload"); header ``89 4D 4B 4D 53 52 50 0A`` ‖ version 1 ‖ AEAD 1 ‖
    chunk size (4, big-endian) ‖ nonce prefix (7), 21 bytes, the AAD of every segment.
``wrapped-keys.json``
    The RSA-OAEP-SHA256 encryption of the ephemeral AES-256 key K to the recipient, the
    recipient key's fingerprint, and per device key its device, slot, algorithm, key check
    value and AES-KWP (RFC 5649) wrapping under K: the ``CKM_RSA_AES_KEY_WRAP`` layout.
``manifest.json``
    The export manifest (written by ``meterkms.keys.exports.manifest``).
``mac.json``
    HMAC-SHA256 under HKDF-SHA256(K, info "meterkms recipient v1 mac") over
    ``"wrapped-keys.json" 00 SHA-256(member) "manifest.json" 00 SHA-256(member)``, so the
    metadata and key check values are authenticated, not only the encrypted parts.

The file is not signed by the exporter: anyone with the public key can make one. It proves
integrity and that it was made for this recipient key, not who made it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.containers.errors import (
    DamagedFileError,
    UnsupportedFileError,
    WrongSecretError,
)
from meterkms.vault.containers.jsonlist import iter_json_with_list, loads, read_json_with_list
from meterkms.vault.containers.stream import (
    DEFAULT_CHUNK_SIZE,
    KIND_PAYLOAD,
    MAX_CHUNK_SIZE,
    NONCE_PREFIX_SIZE,
    SegmentWriter,
    as_chunks,
    check_chunk_size,
    read_exact,
    read_segments,
)
from meterkms.vault.containers.wrapping import (
    decrypt_ephemeral_key,
    key_check_value,
    kwp_unwrap,
    kwp_wrap,
    load_recipient_private_key,
    load_recipient_public_key,
    new_ephemeral_key,
    private_key_fingerprint,
    public_key_fingerprint,
)
from meterkms.vault.containers.zipped import DateTime, StrictZip, ZipWriter

PAYLOAD_NAME = "payload.enc"
WRAPPED_KEYS_NAME = "wrapped-keys.json"
MANIFEST_NAME = "manifest.json"
MAC_NAME = "mac.json"
MEMBER_NAMES = (PAYLOAD_NAME, WRAPPED_KEYS_NAME, MANIFEST_NAME, MAC_NAME)
STREAM_MAGIC = b"\x89MKMSRP\n"
_STREAM_HEADER = struct.Struct(">8sBBI7s")
_MAX_JSON = 512 << 20
_WRAPPED_FIELDS = (
    "wrapped_keys_version", "mechanism", "key_transport", "key_wrap",
    "recipient_key_sha256", "encrypted_key",
)  # fmt: skip
_KEY_FIELDS = ("device", "slot", "algorithm", "kcv", "wrapped_key")
_MAC_FIELDS = ("mac_version", "algorithm", "covers", "mac")


@dataclass(frozen=True, slots=True)
class KeyToWrap:
    """One device key to put into a recipient file."""

    device: str
    slot: str
    algorithm: Algorithm
    key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class RecipientContents:
    """What reading a recipient file returns besides the payload."""

    manifest: bytes
    #: :func:`key_checks_digest` of the unwrapped and checked keys, in file order (a digest,
    #: not a list, so a million keys do not sit in memory twice).
    key_checks_sha256: bytes
    key_count: int


def key_checks_digest(rows: Iterable[tuple[str, str, str, str]]) -> bytes:
    """SHA-256 over (device, slot, algorithm, KCV) rows, one JSON array per line."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(_row(row))
    return digest.digest()


def _row(row: tuple[str, str, str, str]) -> bytes:
    return json.dumps([str(value) for value in row]).encode() + b"\n"


def _subkey(key: bytes, purpose: str) -> bytes:
    info = f"meterkms recipient v1 {purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _mac(key: bytes, wrapped_keys_sha256: bytes, manifest_sha256: bytes) -> str:
    message = b"".join(
        name.encode() + b"\0" + digest
        for name, digest in (
            (WRAPPED_KEYS_NAME, wrapped_keys_sha256),
            (MANIFEST_NAME, manifest_sha256),
        )
    )
    return hmac.new(_subkey(key, "mac"), message, hashlib.sha256).hexdigest()


def _wrapped_keys_json(
    keys: Iterable[KeyToWrap], ephemeral: bytes, encrypted_key: bytes, fingerprint: str
) -> Iterator[bytes]:
    head = {
        "wrapped_keys_version": 1,
        "mechanism": "CKM_RSA_AES_KEY_WRAP",
        "key_transport": "RSA-OAEP, SHA-256, MGF1-SHA-256, no label",
        "key_wrap": "AES-256 key wrap with padding (RFC 5649)",
        "recipient_key_sha256": fingerprint,
        "encrypted_key": base64.b64encode(encrypted_key).decode(),
    }
    entries = (
        {
            "device": item.device,
            "slot": str(item.slot),
            "algorithm": str(item.algorithm),
            "kcv": key_check_value(item.key, item.algorithm),
            "wrapped_key": base64.b64encode(kwp_wrap(ephemeral, item.key)).decode(),
        }
        for item in keys
    )
    return iter_json_with_list(head, "keys", entries)


def _hashing(chunks: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    """Pass chunks through while feeding them to ``digest``."""
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def write_recipient_container(
    out: BinaryIO,
    payload: Iterable[bytes],
    keys: Iterable[KeyToWrap],
    manifest: Callable[[], bytes | Iterable[bytes]],
    *,
    public_key_pem: bytes,
    date_time: DateTime,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Write a recipient file; ``manifest()`` is called after payload and keys are consumed."""
    public = load_recipient_public_key(public_key_pem)
    ephemeral, encrypted_key = new_ephemeral_key(public)
    prefix = os.urandom(NONCE_PREFIX_SIZE)
    header = _STREAM_HEADER.pack(STREAM_MAGIC, 1, 1, check_chunk_size(chunk_size), prefix)
    zipper = ZipWriter(out, date_time=date_time)
    zipper.add(PAYLOAD_NAME, _sealed_payload(payload, _subkey(ephemeral, "payload"), header))
    wrapped, manifest_digest = hashlib.sha256(), hashlib.sha256()
    fingerprint = public_key_fingerprint(public_key_pem)
    zipper.add(
        WRAPPED_KEYS_NAME,
        _hashing(_wrapped_keys_json(keys, ephemeral, encrypted_key, fingerprint), wrapped),
    )
    zipper.add(MANIFEST_NAME, _hashing(as_chunks(manifest()), manifest_digest))
    mac = {
        "mac_version": 1,
        "algorithm": "HMAC-SHA256, key HKDF-SHA256(file key, info 'meterkms recipient v1 mac')",
        "covers": [WRAPPED_KEYS_NAME, MANIFEST_NAME],
        "mac": _mac(ephemeral, wrapped.digest(), manifest_digest.digest()),
    }
    zipper.add(MAC_NAME, [(json.dumps(mac, indent=2) + "\n").encode()])
    zipper.close()


def _sealed_payload(payload: Iterable[bytes], key: bytes, header: bytes) -> Iterator[bytes]:
    pieces: list[bytes] = [header]
    chunk_size = _STREAM_HEADER.unpack(header)[3]
    writer = SegmentWriter(
        pieces.append, key, header=header, prefix=header[-NONCE_PREFIX_SIZE:], chunk_size=chunk_size
    )
    for chunk in payload:
        writer.write(KIND_PAYLOAD, chunk)
        yield from pieces
        pieces.clear()
    writer.close()
    yield from pieces


def _strict_json(data: bytes, what: str, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        value = loads(data.decode("utf-8"))
    except ValueError:
        raise DamagedFileError(f"{what} is not readable JSON: the file was altered") from None
    if not isinstance(value, dict) or tuple(value) != fields:
        raise DamagedFileError(f"{what} does not have the expected fields: the file was altered")
    return value


def _wrapped_head(data: bytes) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The fields of wrapped-keys.json and an iterator over its key entries."""
    try:
        head, entries = read_json_with_list(data, "keys")
    except ValueError:
        raise DamagedFileError("the wrapped keys are not readable: the file was altered") from None
    if tuple(head) != _WRAPPED_FIELDS:
        raise DamagedFileError("the wrapped keys do not have the expected fields: altered")
    return head, entries


def _b64(text: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise DamagedFileError(f"{what} is not valid base64: the file was altered") from None


def _checked(entries: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The entries, with a layout error in the middle reported as damage."""
    try:
        yield from entries
    except ValueError:
        raise DamagedFileError("a wrapped key entry is not readable: altered") from None


class _ChunkReader:
    """``read(n)`` over an iterator of byte blocks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end."""
        while len(self._buffer) < size:
            block = next(self._chunks, b"")
            if not block:
                break
            self._buffer += block
        result, self._buffer = self._buffer[:size], self._buffer[size:]
        return result


def _unwrap_all(entries: Iterator[dict[str, Any]], ephemeral: bytes) -> tuple[bytes, int]:
    """Unwrap every key and check its length and KCV; the keys themselves are dropped."""
    digest, count = hashlib.sha256(), 0
    for entry in _checked(entries):
        if tuple(entry) != _KEY_FIELDS:
            raise DamagedFileError("a wrapped key entry was altered")
        where = f"device {entry['device']!r}, slot {entry['slot']!r}"
        try:
            algorithm = Algorithm(entry["algorithm"])
        except ValueError:
            raise DamagedFileError(f"{where}: unknown algorithm {entry['algorithm']!r}") from None
        key = kwp_unwrap(ephemeral, _b64(entry["wrapped_key"], f"{where}: the wrapped key"))
        if key is None:
            raise DamagedFileError(f"{where}: the wrapped key fails its integrity check")
        if (
            len(key) not in KEY_LENGTHS[algorithm]
            or key_check_value(key, algorithm) != entry["kcv"]
        ):
            raise DamagedFileError(f"{where}: the unwrapped key does not match its KCV")
        digest.update(_row((entry["device"], entry["slot"], entry["algorithm"], entry["kcv"])))
        count += 1
    return digest.digest(), count


def read_recipient_container(
    archive: StrictZip, sink: BinaryIO, *, private_key_pem: bytes, passphrase: str | None
) -> RecipientContents:
    """Check and open a recipient file: payload into ``sink``; manifest and key checks back.

    Order: load the private key, compare fingerprints, decrypt K, verify the MAC over the
    metadata, unwrap every key against its KCV, then decrypt the payload. ``sink`` receives
    payload bytes before the end is authenticated (see ``read_password_container``).
    """
    if archive.names != MEMBER_NAMES:
        raise UnsupportedFileError("not a recipient-bound export (unexpected ZIP members)")
    wrapped_bytes = archive.read(WRAPPED_KEYS_NAME, limit=_MAX_JSON)
    wrapped, entries = _wrapped_head(wrapped_bytes)
    if wrapped["wrapped_keys_version"] != 1:
        raise UnsupportedFileError("this recipient file version is not supported (only 1)")
    private = load_recipient_private_key(private_key_pem, passphrase)
    mine = private_key_fingerprint(private)
    if not hmac.compare_digest(mine, str(wrapped["recipient_key_sha256"])):
        raise WrongSecretError(
            f"this file is for the key with SHA-256 {wrapped['recipient_key_sha256']}; "
            f"the given private key is {mine}"
        )
    ephemeral = decrypt_ephemeral_key(private, _b64(wrapped["encrypted_key"], "the file key"))
    manifest = archive.read(MANIFEST_NAME, limit=_MAX_JSON)
    mac = _strict_json(archive.read(MAC_NAME, limit=1 << 16), "the MAC", _MAC_FIELDS)
    expected = _mac(
        ephemeral, hashlib.sha256(wrapped_bytes).digest(), hashlib.sha256(manifest).digest()
    )
    if not hmac.compare_digest(str(mac["mac"]), expected):
        raise DamagedFileError("the manifest or the wrapped keys were altered (MAC mismatch)")
    checks_sha256, count = _unwrap_all(entries, ephemeral)
    reader = _ChunkReader(archive.chunks(PAYLOAD_NAME))
    header = read_exact(reader.read, _STREAM_HEADER.size)
    if len(header) < _STREAM_HEADER.size:
        raise DamagedFileError("the encrypted payload is truncated")
    magic, version, aead, chunk_size, prefix = _STREAM_HEADER.unpack(header)
    if (magic, version, aead) != (STREAM_MAGIC, 1, 1) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DamagedFileError("the header of the encrypted payload was altered")
    key = _subkey(ephemeral, "payload")
    segments = read_segments(reader.read, key, header=header, prefix=prefix, chunk_size=chunk_size)
    for kind, plaintext in segments:
        if kind != KIND_PAYLOAD:
            raise DamagedFileError("the encrypted payload was altered")
        sink.write(plaintext)
    return RecipientContents(manifest, checks_sha256, count)
