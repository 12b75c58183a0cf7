"""Protect an export file on its way out, and open and verify it again on arrival.

Every method writes the payload together with its manifest (see ``manifest``):

- ``none``: a ZIP with the payload and ``manifest.json``; nothing secret.
- ``password`` (default): Argon2id (RFC 9106: t=3, m=64 MiB, p=4) and chunked AES-256-GCM.
- ``xmlenc-3des`` / ``-aes128`` / ``-aes192`` / ``-aes256``: **weak**, for compatibility with
  Kamstrup-style KEM readers only (no KDF, IV = key, no MAC).
- ``recipient``: for one RSA key holder, keys wrapped as ``CKM_RSA_AES_KEY_WRAP`` so they can
  go straight into an HSM or cloud KMS.

The cryptography lives in ``meterkms.vault.containers``; this module builds the manifest,
measures the payload on the way through (bounded memory) and, when opening, checks that the
manifest matches what was actually decrypted. Layouts: ``docs/formats.md``, "File protection".
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import BinaryIO

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.manifest import (
    ExportDescription,
    KeyCheck,
    KeyCheckList,
    Manifest,
    ManifestError,
    PayloadInfo,
)
from meterkms.vault import xmlenc
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.containers import (
    DEFAULT_CHUNK_SIZE,
    RFC_9106,
    Argon2Params,
    ContainerError,
    ContainerKind,
    DamagedFileError,
    KeyToWrap,
    SecretRequiredError,
    UnsupportedFileError,
    WrongSecretError,
    generate_recipient_keypair,
    identify_container,
    key_check_value,
    key_checks_digest,
)
from meterkms.vault.containers.compatible import (
    read_compatible_container,
    write_compatible_container,
)
from meterkms.vault.containers.password import read_password_container, write_password_container
from meterkms.vault.containers.plain import read_plain_container, write_plain_container
from meterkms.vault.containers.recipient import read_recipient_container, write_recipient_container
from meterkms.vault.containers.zipped import zip_date_time

# Callers (export service, CLI) need only this module: errors and key pairs come along.
__all__ = [
    "DEFAULT_PROTECTION", "RFC_9106", "Argon2Params", "ContainerError", "DamagedFileError",
    "DeviceKey", "ExportDescription", "OpenedExport", "Protection", "ProtectionError",
    "SecretRequiredError", "UnsupportedFileError", "WrongSecretError", "detect_protection",
    "generate_recipient_keypair", "open_export", "open_export_to", "protect", "protect_bytes",
]  # fmt: skip


class ProtectionError(ContainerError):
    """The export cannot be protected as asked (missing secret, bad inputs)."""


class Protection(StrEnum):
    """How a key file is protected when it leaves the system (manual: Verschlüsselungsmethoden)."""

    NONE = "none"
    PASSWORD = "password"  # noqa: S105 (a method name, not a secret)
    XMLENC_3DES = "xmlenc-3des"
    XMLENC_AES128 = "xmlenc-aes128"
    XMLENC_AES192 = "xmlenc-aes192"
    XMLENC_AES256 = "xmlenc-aes256"
    RECIPIENT = "recipient"

    @property
    def weak(self) -> bool:
        """True for the compatible XML-Enc methods: no KDF, IV = key, no MAC."""
        return self in XMLENC_ALGORITHMS

    @property
    def label(self) -> str:
        """A short description that says plainly which methods are weak."""
        return _LABELS[self]

    @property
    def file_suffix(self) -> str:
        """What to append to the payload's file name for the downloaded file."""
        return _SUFFIXES.get(self, ".zip.kem")


DEFAULT_PROTECTION = Protection.PASSWORD

#: The XML-Enc algorithm URI of each compatible method.
XMLENC_ALGORITHMS: dict[Protection, str] = {
    Protection.XMLENC_3DES: xmlenc.TRIPLEDES_CBC,
    Protection.XMLENC_AES128: xmlenc.AES128_CBC,
    Protection.XMLENC_AES192: xmlenc.AES192_CBC,
    Protection.XMLENC_AES256: xmlenc.AES256_CBC,
}
_LABELS = {
    Protection.NONE: "None: plain ZIP with manifest (keys readable by anyone)",
    Protection.PASSWORD: "Password: Argon2id + AES-256-GCM (recommended)",
    Protection.RECIPIENT: "Recipient key: RSA-OAEP + AES key wrap (HSM/KMS import)",
} | {
    method: f"Compatible, WEAK: XML-Enc {method.value.removeprefix('xmlenc-').upper()}, "
    "Kamstrup KEM style (no KDF, IV = key, no MAC)"
    for method in XMLENC_ALGORITHMS
}
_SUFFIXES = {
    Protection.NONE: ".zip",
    Protection.PASSWORD: ".mkms",
    Protection.RECIPIENT: ".recipient.zip",
}
_BY_ALGORITHM = {uri: protection for protection, uri in XMLENC_ALGORITHMS.items()}


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device key handed to :func:`protect` (for KCVs, and wrapped for ``recipient``)."""

    device: str
    slot: KeySlot
    algorithm: Algorithm
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class OpenedExport:
    """A verified export: the payload exactly as written, its manifest and its protection."""

    payload: bytes = field(repr=False)
    manifest: Manifest
    protection: Protection


class _Measured:
    """Pass payload chunks through while counting bytes and hashing them."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._count(chunk)
            yield chunk

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.sha256.update(chunk)


class _MeasuringSink(_Measured):
    """A writable stream that measures what passes into ``sink``."""

    def __init__(self, sink: BinaryIO) -> None:
        super().__init__(())
        self._sink = sink

    def write(self, chunk: bytes) -> int:
        """Measure ``chunk`` and write it on."""
        self._count(chunk)
        return self._sink.write(chunk)


def _check_secrets(
    protection: Protection, password: str | None, recipient_public_key: bytes | None
) -> None:
    if protection == Protection.RECIPIENT and not recipient_public_key:
        raise ProtectionError("recipient protection needs the recipient's public key (PEM)")
    if protection == Protection.PASSWORD and not password:
        raise ProtectionError("password protection needs a password")
    if protection.weak:
        size = xmlenc.key_size(XMLENC_ALGORITHMS[protection])
        if not password:
            raise ProtectionError(f"{protection} needs a password")
        if len(password.encode("utf-8")) > size:
            # The method would silently ignore the rest: refuse instead of pretending.
            raise ProtectionError(
                f"{protection} uses at most {size} bytes of the password (UTF-8); choose a "
                "shorter password or the 'password' method, which has no such limit"
            )


def protect(
    out: BinaryIO,
    payload: bytes | Iterable[bytes],
    *,
    protection: Protection | str = DEFAULT_PROTECTION,
    description: ExportDescription,
    key_checks: Iterable[KeyCheck] = (),
    keys: Iterable[DeviceKey] = (),
    password: str | None = None,
    recipient_public_key: bytes | None = None,
    argon2: Argon2Params = RFC_9106,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Manifest:
    """Write ``payload`` protected with ``protection`` to ``out``; return the manifest written.

    ``payload`` may be bytes or an iterator of chunks; memory stays bounded by the chunk size
    (plus the manifest's key check values). The KCVs come from ``key_checks`` or are computed
    from ``keys``; ``recipient`` needs ``keys``, as it wraps them. If this raises after
    writing started, ``out`` holds an unusable fragment that the caller must discard.
    """
    protection = Protection(protection)
    _check_secrets(protection, password, recipient_public_key)
    checks = key_checks if isinstance(key_checks, KeyCheckList) else KeyCheckList(key_checks)
    key_list = keys
    if checks and (protection == Protection.RECIPIENT or keys):
        raise ProtectionError("give either keys or key checks; recipient protection needs keys")
    created = (description.created_at or datetime.now(UTC)).astimezone(UTC)
    placeholder = PayloadInfo(description.payload_name, description.media_type, 0, "0" * 64)
    _manifest(description, protection, created, placeholder, ())  # refuse bad fields early
    whole = isinstance(payload, bytes | bytearray | memoryview)
    measured = _Measured([bytes(payload)] if whole else payload)
    tapped = _tap_keys(key_list, checks)
    built: list[Manifest] = []

    def manifest() -> Iterator[bytes]:
        """Build the manifest once payload and keys are consumed (called by the container)."""
        if protection != Protection.RECIPIENT:
            collections.deque(tapped, maxlen=0)  # only the KCVs: these keys are not wrapped
        info = PayloadInfo(
            description.payload_name,
            description.media_type,
            measured.size,
            measured.sha256.hexdigest(),
        )
        built.append(_manifest(description, protection, created, info, checks))
        return built[0].iter_json()

    _write(out, protection, measured, tapped, manifest, description, created, password,
           recipient_public_key, argon2, chunk_size)  # fmt: skip
    return built[0]


def _manifest(
    description: ExportDescription,
    protection: Protection,
    created: datetime,
    payload: PayloadInfo,
    checks: Iterable[KeyCheck] | KeyCheckList,
) -> Manifest:
    return Manifest(
        format=description.format,
        protection=protection.value,
        created_at=created,
        download_id=description.download_id,
        exporter=description.exporter,
        payload=payload,
        key_checks=checks if isinstance(checks, KeyCheckList) else tuple(checks),
    )


def _tap_keys(keys: Iterable[DeviceKey], checks: KeyCheckList) -> Iterator[KeyToWrap]:
    """Record each key's KCV in ``checks`` on the way to the wrapper."""
    for item in keys:
        kcv = key_check_value(item.key, item.algorithm)
        checks.append(item.device, item.slot, item.algorithm, kcv)
        yield KeyToWrap(item.device, str(KeySlot(item.slot)), Algorithm(item.algorithm), item.key)


def _write(
    out: BinaryIO,
    protection: Protection,
    payload: Iterable[bytes],
    keys: Iterator[KeyToWrap],
    manifest: Callable[[], Iterable[bytes]],
    description: ExportDescription,
    created: datetime,
    password: str | None,
    public_key: bytes | None,
    argon2: Argon2Params,
    chunk_size: int,
) -> None:
    date_time = zip_date_time(created)
    if protection == Protection.NONE:
        write_plain_container(
            out, payload, manifest, payload_name=description.payload_name, date_time=date_time
        )
    elif protection == Protection.PASSWORD:
        write_password_container(
            out, payload, manifest, password=password or "", params=argon2, chunk_size=chunk_size
        )
    elif protection == Protection.RECIPIENT:
        write_recipient_container(
            out, payload, keys, manifest, public_key_pem=public_key or b"",
            date_time=date_time, chunk_size=chunk_size,
        )  # fmt: skip
    else:
        write_compatible_container(
            out, payload, manifest, password=password or "",
            algorithm=XMLENC_ALGORITHMS[protection], media_type=description.media_type,
            date_time=date_time,
        )  # fmt: skip


def protect_bytes(payload: bytes | Iterable[bytes], **options: object) -> tuple[bytes, Manifest]:
    """:func:`protect` into memory: the protected file's bytes and its manifest."""
    out = io.BytesIO()
    manifest = protect(out, payload, **options)  # type: ignore[arg-type]
    return out.getvalue(), manifest


@contextlib.contextmanager
def _opened(data: bytes | str | os.PathLike[str]) -> Iterator[BinaryIO]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(data))
        return
    with open(data, "rb") as handle:
        yield handle


def detect_protection(data: bytes | str | os.PathLike[str]) -> Protection:
    """The protection method of an export file, from its bytes alone (no secret needed)."""
    with _opened(data) as source:
        identified = identify_container(source)
    if identified.kind == ContainerKind.COMPATIBLE:
        return _BY_ALGORITHM[identified.algorithm or ""]
    return _KIND_PROTECTION[identified.kind]


_KIND_PROTECTION = {
    ContainerKind.PLAIN: Protection.NONE,
    ContainerKind.PASSWORD: Protection.PASSWORD,
    ContainerKind.RECIPIENT: Protection.RECIPIENT,
}


def _check_manifest(
    manifest_bytes: bytes, protection: Protection, measured: _Measured, payload_name: str | None
) -> Manifest:
    """Parse the manifest and hold it against what was actually decrypted."""
    try:
        return Manifest.from_json(manifest_bytes).verify(
            protection=protection.value,
            size=measured.size,
            sha256=measured.sha256.hexdigest(),
            payload_name=payload_name,
        )
    except ManifestError as error:
        raise DamagedFileError(f"the manifest does not match the file: {error}") from None


def open_export_to(
    data: bytes | str | os.PathLike[str],
    sink: BinaryIO,
    *,
    password: str | None = None,
    private_key: bytes | None = None,
) -> OpenedExport:
    """Open and verify an export, streaming its payload into ``sink``.

    The returned OpenedExport has an empty ``payload``. ``sink`` may have received payload
    bytes before an error: callers write to a temporary file and keep it only on success.
    ``password`` opens password and XML-Enc files, or unlocks an encrypted private key.
    """
    measured = _MeasuringSink(sink)
    payload_name: str | None = None
    recipient_checks = None
    with _opened(data) as source:
        identified = identify_container(source)
        kind, archive = identified.kind, identified.archive
        if kind == ContainerKind.PASSWORD:
            manifest_bytes = read_password_container(source, measured, password=password or "")
        elif kind == ContainerKind.PLAIN and archive is not None:
            payload_name, manifest_bytes = read_plain_container(archive, measured)
        elif kind == ContainerKind.COMPATIBLE and archive is not None:
            manifest_bytes = read_compatible_container(archive, measured, password=password or "")
        elif archive is not None:
            if not private_key:
                raise SecretRequiredError("this file is for a recipient key: give the private key")
            contents = read_recipient_container(
                archive, measured, private_key_pem=private_key, passphrase=password
            )
            manifest_bytes, recipient_checks = contents.manifest, contents.key_checks_sha256
    protection = (
        _BY_ALGORITHM[identified.algorithm or ""]
        if kind == ContainerKind.COMPATIBLE
        else _KIND_PROTECTION[kind]
    )
    manifest = _check_manifest(manifest_bytes, protection, measured, payload_name)
    if recipient_checks is not None:
        listed = key_checks_digest(
            (c.device, c.slot, c.algorithm, c.kcv) for c in manifest.key_checks
        )
        if listed != recipient_checks:
            raise DamagedFileError("the manifest's key check values differ from the wrapped keys")
    return OpenedExport(b"", manifest, protection)


def open_export(
    data: bytes | str | os.PathLike[str],
    *,
    password: str | None = None,
    private_key: bytes | None = None,
) -> OpenedExport:
    """Open and verify an export file (bytes or path); all checks pass or nothing is returned.

    Raises SecretRequiredError, WrongSecretError, DamagedFileError or UnsupportedFileError
    (all ContainerError, a ValueError) with a message that says what to do.
    """
    buffer = io.BytesIO()
    opened = open_export_to(data, buffer, password=password, private_key=private_key)
    return OpenedExport(buffer.getvalue(), opened.manifest, opened.protection)
