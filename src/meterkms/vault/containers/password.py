"""The modern password container: Argon2id key derivation, chunked AES-256-GCM.

Layout (all integers big-endian), 66 bytes of header, then segments (see ``stream``)::

    0   8  magic  89 4D 4B 4D 53 50 57 0A  ("\\x89MKMSPW\\n")
    8   1  format version = 1
    9   1  KDF = 1 (Argon2id, version 0x13)
    10  4  Argon2 time cost t
    14  4  Argon2 memory m in KiB
    18  4  Argon2 parallelism p
    22 16  salt (random per file)
    38  1  AEAD = 1 (AES-256-GCM)
    39  4  chunk size (plaintext bytes per segment)
    43  7  nonce prefix (random per file)
    50 16  header tag: AES-256-GCM of nothing, nonce prefix ‖ FFFFFFFF ‖ 00, AAD = bytes 0-49

key = Argon2id(NFKC(password) as UTF-8, salt, t, m, p, 32 bytes). Every segment has bytes 0-49
as associated data, so the KDF parameters are authenticated, and the header tag tells a wrong
password apart from a damaged file. Segments: payload segments, then manifest segments, the
last one final. Default parameters are RFC 9106's second recommendation (t=3, m=64 MiB, p=4),
the same as the account password hashes.
"""

from __future__ import annotations

import os
import struct
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from argon2.low_level import Type, hash_secret_raw

from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
)
from meterkms.vault.containers.stream import (
    DEFAULT_CHUNK_SIZE,
    KIND_MANIFEST,
    KIND_PAYLOAD,
    MAX_CHUNK_SIZE,
    NONCE_PREFIX_SIZE,
    TAG_SIZE,
    SegmentWriter,
    as_chunks,
    check_chunk_size,
    header_tag,
    header_tag_matches,
    read_exact,
    read_segments,
)

MAGIC = b"\x89MKMSPW\n"
FORMAT_VERSION = 1
KDF_ARGON2ID = 1
AEAD_AES_256_GCM = 1
SALT_SIZE = 16
#: Refuse larger manifests when reading (about 3 M key check values).
MAX_MANIFEST_SIZE = 256 << 20
_HEADER = struct.Struct(">8sBBIII16sBI7s")
HEADER_SIZE = _HEADER.size + TAG_SIZE


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters; the limits keep a hostile file from exhausting the reader."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def problem(self) -> str | None:
        """Why these parameters are refused, or None if they are acceptable."""
        if not 1 <= self.parallelism <= 16:
            return f"parallelism {self.parallelism} is outside 1-16"
        if not 1 <= self.time_cost <= 10:
            return f"time cost {self.time_cost} is outside 1-10"
        if not 8 * self.parallelism <= self.memory_kib <= 1 << 20:
            return f"memory {self.memory_kib} KiB is outside {8 * self.parallelism} KiB-1 GiB"
        return None


#: RFC 9106 §4, second recommended option (t=3, m=64 MiB, p=4); security.md decision.
RFC_9106 = Argon2Params(time_cost=3, memory_kib=65536, parallelism=4)


@dataclass(frozen=True, slots=True)
class PasswordHeader:
    """The parsed header of a password container."""

    params: Argon2Params
    salt: bytes
    chunk_size: int
    prefix: bytes
    raw: bytes
    tag: bytes


def derive_key(password: str, salt: bytes, params: Argon2Params) -> bytes:
    """The 32-byte AES key of ``password``; NFKC so the same password typed anywhere matches."""
    secret = unicodedata.normalize("NFKC", password).encode("utf-8")
    return hash_secret_raw(
        secret,
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
        version=19,
    )


def write_password_container(
    out: BinaryIO,
    payload: Iterable[bytes],
    manifest: Callable[[], bytes | Iterable[bytes]],
    *,
    password: str,
    params: Argon2Params = RFC_9106,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Write ``payload`` then ``manifest()`` (called after the payload) sealed with ``password``."""
    if not password:
        raise ContainerError("a password is required for password protection")
    if problem := params.problem():
        raise ContainerError(f"Argon2 parameters refused: {problem}")
    salt, prefix = os.urandom(SALT_SIZE), os.urandom(NONCE_PREFIX_SIZE)
    raw = _HEADER.pack(
        MAGIC, FORMAT_VERSION, KDF_ARGON2ID, params.time_cost, params.memory_kib,
        params.parallelism, salt, AEAD_AES_256_GCM, check_chunk_size(chunk_size), prefix,
    )  # fmt: skip
    key = derive_key(password, salt, params)
    out.write(raw + header_tag(key, raw, prefix))
    writer = SegmentWriter(out.write, key, header=raw, prefix=prefix, chunk_size=chunk_size)
    for chunk in payload:
        writer.write(KIND_PAYLOAD, chunk)
    writer.write(KIND_MANIFEST, b"")
    for piece in as_chunks(manifest()):
        writer.write(KIND_MANIFEST, piece)
    writer.close()


def read_password_header(data: bytes) -> PasswordHeader:
    """Parse and sanity-check the 66-byte header (no password needed)."""
    if data and MAGIC.startswith(data[: len(MAGIC)]) and len(data) < HEADER_SIZE:
        raise DamagedFileError("the file is truncated: its header is incomplete")
    if not data.startswith(MAGIC):
        raise UnsupportedFileError("not a meterkms password-protected file")
    if len(data) < HEADER_SIZE:
        raise DamagedFileError("the file is truncated: its header is incomplete")
    fields = _HEADER.unpack(data[: _HEADER.size])
    _, version, kdf, time_cost, memory, parallelism, salt, aead, chunk_size, prefix = fields
    if version != FORMAT_VERSION:
        raise UnsupportedFileError(f"format version {version} is not supported (only 1)")
    if kdf != KDF_ARGON2ID or aead != AEAD_AES_256_GCM:
        raise UnsupportedFileError(f"unknown key derivation {kdf} or cipher {aead}")
    params = Argon2Params(time_cost, memory, parallelism)
    if problem := params.problem():
        raise UnsupportedFileError(f"the file asks for refused Argon2 parameters: {problem}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise UnsupportedFileError(f"the file's chunk size {chunk_size} is out of range")
    return PasswordHeader(
        params, salt, chunk_size, prefix, data[: _HEADER.size], data[_HEADER.size : HEADER_SIZE]
    )


def read_password_container(source: BinaryIO, sink: BinaryIO, *, password: str) -> bytes:
    """Decrypt the payload into ``sink`` and return the manifest bytes.

    ``sink`` receives payload bytes before the end is authenticated: callers that must not
    show partial output collect into a buffer or temporary file and drop it on any error.
    """
    header = read_password_header(read_exact(source.read, HEADER_SIZE))
    if not password:
        raise SecretRequiredError("this file is protected with a password; give the password")
    key = derive_key(password, header.salt, header.params)
    if not header_tag_matches(key, header.raw, header.prefix, header.tag):
        raise WrongSecretError("wrong password (or the file's header was altered)")
    manifest = bytearray()
    last_kind = KIND_PAYLOAD
    segments = read_segments(
        source.read, key, header=header.raw, prefix=header.prefix, chunk_size=header.chunk_size
    )
    for kind, plaintext in segments:
        if kind == KIND_PAYLOAD and last_kind == KIND_MANIFEST:
            raise DamagedFileError("payload data follows the manifest: the file was altered")
        last_kind = kind
        if kind == KIND_PAYLOAD:
            sink.write(plaintext)
        else:
            manifest += plaintext
            if len(manifest) > MAX_MANIFEST_SIZE:
                raise DamagedFileError("the manifest is implausibly large")
    if last_kind != KIND_MANIFEST:
        raise DamagedFileError("the file has no manifest: it was altered")
    return bytes(manifest)
