"""Containers that carry an export out of the system: plain, password, KEM-style, recipient.

The vault owns every byte layout that involves a cipher, so the export code above it only
chooses a container and hands over payload chunks and a manifest. :func:`identify_container`
tells the kinds apart from the bytes alone; the per-kind modules document their layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from meterkms.vault.containers.compatible import compatible_algorithm, is_compatible
from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
)
from meterkms.vault.containers.password import HEADER_SIZE, MAGIC, RFC_9106, Argon2Params
from meterkms.vault.containers.plain import is_plain
from meterkms.vault.containers.recipient import MEMBER_NAMES as RECIPIENT_MEMBERS
from meterkms.vault.containers.recipient import KeyToWrap, key_checks_digest
from meterkms.vault.containers.stream import DEFAULT_CHUNK_SIZE
from meterkms.vault.containers.wrapping import (
    RecipientKeyPair,
    generate_recipient_keypair,
    key_check_value,
    public_key_fingerprint,
)
from meterkms.vault.containers.zipped import StrictZip

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "RFC_9106",
    "Argon2Params",
    "ContainerError",
    "ContainerKind",
    "DamagedFileError",
    "IdentifiedContainer",
    "KeyToWrap",
    "RecipientKeyPair",
    "SecretRequiredError",
    "UnsupportedFileError",
    "WrongSecretError",
    "generate_recipient_keypair",
    "identify_container",
    "key_check_value",
    "key_checks_digest",
    "public_key_fingerprint",
]

_ZIP_MAGIC = b"PK\x03\x04"


class ContainerKind(StrEnum):
    """The four container layouts."""

    PLAIN = "plain"
    PASSWORD = "password"  # noqa: S105 (a container kind, not a secret)
    COMPATIBLE = "compatible"
    RECIPIENT = "recipient"


@dataclass(frozen=True)
class IdentifiedContainer:
    """A container recognised from its bytes; ZIP kinds come already verified and opened."""

    kind: ContainerKind
    archive: StrictZip | None = None
    #: The XML-Enc algorithm URI of a compatible container.
    algorithm: str | None = None


def identify_container(source: BinaryIO) -> IdentifiedContainer:
    """Recognise the container in ``source`` (seekable, positioned at its start).

    A ZIP is checked for its canonical form before its member names are trusted; the
    position of ``source`` is undefined afterwards.
    """
    head = source.read(HEADER_SIZE)
    source.seek(0)
    if head[: len(MAGIC)] == MAGIC[: len(head)] and head:
        return IdentifiedContainer(ContainerKind.PASSWORD)
    if not head.startswith(_ZIP_MAGIC):
        raise UnsupportedFileError(
            "not a meterkms export: neither a password-protected file nor a ZIP export"
        )
    archive = StrictZip(source)
    if archive.names == RECIPIENT_MEMBERS:
        return IdentifiedContainer(ContainerKind.RECIPIENT, archive)
    if is_compatible(archive.names):
        return IdentifiedContainer(
            ContainerKind.COMPATIBLE, archive, algorithm=compatible_algorithm(archive)
        )
    if is_plain(archive.names):
        return IdentifiedContainer(ContainerKind.PLAIN, archive)
    raise UnsupportedFileError(
        "a ZIP file, but not a meterkms export (members: " + ", ".join(archive.names) + ")"
    )
