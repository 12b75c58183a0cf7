"""Format of a sealed value (blob) and of the associated data that binds it to its row.

Blob, format version 1 (``45 + len(plaintext)`` bytes; 61 for an AES-128 device key)::

    offset  length  field
    0       1       format version, 0x01
    1       16      data-key (DEK) id, a UUID in its 16-byte big-endian form
    17      12      nonce, random from the OS CSPRNG
    29      n + 16  AES-256-GCM ciphertext of the plaintext, then the 16-byte tag

The first 17 bytes are the *header*. The associated data (AAD) fed to AES-GCM is the UTF-8
encoding of the text::

    <header as 34 lower-case hex digits> <slot> NUL <version in decimal> NUL <record>

without the spaces. It is injective: the header has a fixed length, the slot may not contain
NUL, the version is a non-negative integer, and the record id is everything that remains, so
it may be any string. A blob therefore opens only for the record id, key slot and key version
it was sealed for, under the DEK its header names, in its own format: moving it to another
row, slot, version or DEK, or editing the header, makes GCM authentication fail.

The text form is chosen for speed: the constant part (header and binding) is built once per
batch, and per value only ``(prefix + record).encode()`` remains.
"""

from __future__ import annotations

from uuid import UUID

from meterkms.vault.errors import BlobIntegrityError, VaultError

FORMAT_V1 = 1
HEADER_BYTES = 17
NONCE_BYTES = 12
TAG_BYTES = 16
#: Bytes a blob adds to its plaintext.
OVERHEAD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES
#: Largest plaintext accepted: device keys are at most 32 bytes; leave room for other secrets.
MAX_PLAINTEXT_BYTES = 4096

_MAX_SLOT_CHARS = 64
_MAX_SCOPE_CHARS = 200
_MAX_VERSION = 2**63 - 1


def make_header(dek_id: UUID) -> bytes:
    """The 17-byte header of blobs sealed under the data key ``dek_id``."""
    return bytes((FORMAT_V1,)) + dek_id.bytes


def header_data_key_id(header: bytes | memoryview) -> UUID:
    """The DEK id of a blob header (or of a whole blob), after checking its format."""
    if len(header) < HEADER_BYTES:
        raise BlobIntegrityError(
            f"the sealed value is {len(header)} bytes, shorter than a blob header"
        )
    if header[0] != FORMAT_V1:
        raise BlobIntegrityError(
            f"the sealed value has format version {header[0]}; this vault reads version "
            f"{FORMAT_V1} (damaged data or a newer release?)"
        )
    return UUID(bytes=bytes(header[1:HEADER_BYTES]))


def binding_tail(slot: str, version: int) -> str:
    """The middle part of the associated data: ``<slot> NUL <version> NUL``.

    Checked here so that the encoding stays injective: no NUL in the slot, and the version
    a real non-negative ``int`` (``bool`` is refused even though it is an ``int``).
    """
    if not isinstance(slot, str) or not slot or len(slot) > _MAX_SLOT_CHARS or "\x00" in slot:
        raise VaultError(f"a key slot must be 1-{_MAX_SLOT_CHARS} characters without NUL")
    if type(version) is not int or not 0 <= version <= _MAX_VERSION:
        raise VaultError("a key version must be a non-negative integer")
    return f"{slot}\x00{version}\x00"


def associated_data(header: bytes, record: str, slot: str, version: int) -> bytes:
    """The full associated data of one blob (reference form; the engine builds it in parts)."""
    if not isinstance(record, str):
        raise VaultError("a record id must be a string")
    return (header.hex() + binding_tail(slot, version) + record).encode()


def check_scope(scope: str) -> None:
    """A scope names who owns a data key (``org:<uuid>``); it travels in wrap contexts."""
    if not isinstance(scope, str) or not scope or len(scope) > _MAX_SCOPE_CHARS:
        raise VaultError(f"a scope must be 1-{_MAX_SCOPE_CHARS} characters")
    if "\x00" in scope:
        raise VaultError("a scope must not contain NUL")
