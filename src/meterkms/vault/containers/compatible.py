"""The "compatible" container: Kamstrup-style KEM files (XML-Enc with the password as key).

A canonical ZIP (see ``zipped``) with two members: ``<32 upper-case hex GUID>.kem``, the
payload as an XML-Enc ``<EncryptedData>`` (see ``meterkms.vault.xmlenc``), and
``manifest.xenc``, the manifest JSON as a second ``<EncryptedData>`` with
``MimeType="application/json"``, same password and algorithm. KEM readers (Kamstrup's tools,
wmbusmeters' kem-import) take the first ``.kem`` member and ignore the rest.

Weak by construction and labelled so: no key derivation (a password guess costs one block
decryption), IV = key (equal first blocks show as equal ciphertext), no MAC (only the ZIP
CRC and the manifest's SHA-256 catch damage; a forger who knows the password can rewrite
everything). Use only for recipients whose software reads nothing else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from typing import BinaryIO

from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
)
from meterkms.vault.containers.stream import as_chunks
from meterkms.vault.containers.zipped import DateTime, StrictZip, ZipWriter
from meterkms.vault.xmlenc import (
    SUPPORTED_ALGORITHMS,
    WrongPasswordError,
    XmlEncError,
    decrypt_encrypted_data,
    encrypted_data_algorithm,
    iter_encrypted_data,
)

MANIFEST_NAME = "manifest.xenc"
_PAYLOAD_NAME = re.compile(r"[0-9A-F]{32}\.kem")
#: Largest member read into memory (the XML-Enc reader is not streaming).
_MAX_MEMBER = 1 << 31


def is_compatible(names: tuple[str, ...]) -> bool:
    """Whether a ZIP with these members is a compatible (KEM-style) export."""
    return len(names) == 2 and bool(_PAYLOAD_NAME.fullmatch(names[0])) and names[1] == MANIFEST_NAME


def write_compatible_container(
    out: BinaryIO,
    payload: Iterable[bytes],
    manifest: Callable[[], bytes | Iterable[bytes]],
    *,
    password: str,
    algorithm: str,
    media_type: str,
    date_time: DateTime,
) -> None:
    """Write the KEM-style ZIP; ``manifest()`` is called after the payload is consumed."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ContainerError(f"unsupported XML-Enc algorithm {algorithm!r}")
    if not password:
        raise ContainerError("a password is required for XML-Enc protection")
    # KEM files carry no MimeType; other payloads say what they are.
    mime = None if "xml" in media_type.lower() else media_type
    zipper = ZipWriter(out, date_time=date_time)
    name = f"{uuid.uuid4().hex.upper()}.kem"
    zipper.add(name, iter_encrypted_data(payload, password, algorithm, mime_type=mime))
    sealed = iter_encrypted_data(
        as_chunks(manifest()), password, algorithm, mime_type="application/json"
    )
    zipper.add(MANIFEST_NAME, sealed)
    zipper.close()


def compatible_algorithm(archive: StrictZip) -> str:
    """The XML-Enc algorithm URI of a compatible export (no password needed)."""
    try:
        return encrypted_data_algorithm(archive.read(MANIFEST_NAME, limit=_MAX_MEMBER))
    except XmlEncError as error:
        raise DamagedFileError(f"the manifest was altered: {error}") from None


def read_compatible_container(archive: StrictZip, sink: BinaryIO, *, password: str) -> bytes:
    """Decrypt a compatible export: the payload goes to ``sink``, the manifest is returned."""
    if not is_compatible(archive.names):
        raise UnsupportedFileError("not a KEM-style export (unexpected ZIP members)")
    if not password:
        raise SecretRequiredError("this file is protected with a password; give the password")
    sealed_manifest = archive.read(MANIFEST_NAME, limit=_MAX_MEMBER)
    sealed_payload = archive.read(archive.names[0], limit=_MAX_MEMBER)
    try:
        if encrypted_data_algorithm(sealed_payload) != encrypted_data_algorithm(sealed_manifest):
            raise DamagedFileError("payload and manifest use different algorithms: altered")
        manifest = decrypt_encrypted_data(sealed_manifest, password)
    except WrongPasswordError:
        raise WrongSecretError("wrong password") from None
    except XmlEncError as error:
        raise DamagedFileError(f"the manifest was altered or damaged: {error}") from None
    try:
        # The manifest opened, so the password is right; its SHA-256 judges the payload.
        sink.write(decrypt_encrypted_data(sealed_payload, password, check_content=False))
    except XmlEncError as error:
        raise DamagedFileError(f"the payload was altered or damaged: {error}") from None
    return manifest
