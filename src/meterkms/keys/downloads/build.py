"""Build a key file: unseal the rows of a key source, write the format, protect the result.

Two passes, both in bounded memory: the rows are unsealed chunk by chunk and written in the
chosen format into a *scratch* payload (in memory for small downloads, an encrypted spool
file for large ones); then the payload and its manifest are protected into the sink. Along
the way the download's record (device id, serial, slot, version and fingerprint of every
key) is written gzip-compressed and hashed.

Nothing here commits anything: the caller records the download (audit event included) and
only then lets the file leave. If this raises, the sink holds an unusable fragment.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import operator
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from meterkms.devices.enums import KeySlot
from meterkms.keys.downloads.csvchunks import csv_payload
from meterkms.keys.downloads.options import DownloadOptions, Secret
from meterkms.keys.downloads.source import (
    I_ALGORITHM,
    I_DEV_ADDR,
    I_DEV_EUI,
    I_DEVICE,
    I_FINGERPRINT,
    I_JOIN_EUI,
    I_KCV,
    I_LORAWAN_VERSION,
    I_MANUFACTURER,
    I_MEDIUM,
    I_METER_ADDRESS,
    I_MODULE_ADDRESS,
    I_SEALED,
    I_SERIAL,
    I_SLOT,
    I_TYPE,
    I_VERSION,
    I_WMBUS_MANUFACTURER,
    I_WMBUS_VERSION,
    KeySource,
    Row,
    labels_of,
)
from meterkms.keys.exports.formats import ExportRow, write
from meterkms.keys.exports.manifest import ExportDescription, KeyCheckList, Manifest
from meterkms.keys.exports.protection import DeviceKey, Protection, protect
from meterkms.vault.algorithms import Algorithm
from meterkms.vault.engine import Vault
from meterkms.vault.spool import SEGMENT, SpoolWriter, new_spool_key, open_spool

#: Up to this many keys, the audit event lists device ids and fingerprints itself.
INLINE_KEYS = 1000
RECORD_HEADER = b"device_id\tserial\tslot\tversion\tfingerprint\n"
#: Bytes of compressed record per stored part.
RECORD_PART = 1 << 20

_SLOTS = {slot.value: slot for slot in KeySlot}
_GROUP = operator.itemgetter(I_MANUFACTURER, I_SLOT, I_VERSION)
_RECORD_FIELDS = operator.itemgetter(I_DEVICE, I_SERIAL, I_SLOT, I_VERSION, I_FINGERPRINT)
_CHECK_FIELDS = operator.itemgetter(I_SERIAL, I_SLOT, I_ALGORITHM, I_KCV)
_ALGORITHMS = {algorithm.value: algorithm for algorithm in Algorithm}


class Record:
    """The list of keys that left, as gzip-compressed tab-separated lines, and its SHA-256.

    The SHA-256 is over the uncompressed lines (header included), so it does not depend on
    the compressor. The compressed stream is cut into parts of :data:`RECORD_PART` bytes
    (stored one row each). Small downloads also keep the device ids and fingerprints as
    lists for the audit event.
    """

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip framing
        self._buffer = bytearray()
        self.parts: list[bytes] = []
        self._digest = hashlib.sha256()
        self.device_ids: list[int] | None = []
        self.fingerprints: list[str] | None = []
        self._write(RECORD_HEADER)

    def _write(self, data: bytes) -> None:
        self._digest.update(data)
        self._buffer += self._compressor.compress(data)
        while len(self._buffer) >= RECORD_PART:
            self.parts.append(bytes(self._buffer[:RECORD_PART]))
            del self._buffer[:RECORD_PART]

    def add(self, rows: list[Row]) -> None:
        """Add the keys of ``rows``."""
        lines = map(_RECORD_FIELDS, rows)
        text = "".join(f"{d}\t{s}\t{k}\t{v}\t{f}\n" for d, s, k, v, f in lines)
        self._write(text.encode("utf-8"))
        if self.fingerprints is not None:
            self.fingerprints.extend(row[I_FINGERPRINT] for row in rows)
            assert self.device_ids is not None
            for row in rows:
                if not self.device_ids or self.device_ids[-1] != row[I_DEVICE]:
                    self.device_ids.append(row[I_DEVICE])
            if len(self.fingerprints) > INLINE_KEYS:
                self.device_ids = self.fingerprints = None

    def finish(self) -> tuple[list[bytes], str]:
        """The compressed record in parts, and the SHA-256 of its lines."""
        self._buffer += self._compressor.flush()
        if self._buffer:
            self.parts.append(bytes(self._buffer))
            self._buffer = bytearray()
        return self.parts, self._digest.hexdigest()


class Scratch:
    """Where the payload waits between the two passes: memory (small downloads)."""

    def __init__(self) -> None:
        self._payload = io.BytesIO()
        self._keys: list[DeviceKey] = []

    @property
    def payload_sink(self) -> BinaryIO:
        """Where a format writer writes the payload."""
        return self._payload

    def keep_key(self, item: DeviceKey) -> None:
        """Keep a key for the recipient container, which wraps every key."""
        self._keys.append(item)

    def payload(self) -> Iterator[bytes]:
        """The finished payload, in chunks."""
        yield self._payload.getvalue()

    def keys(self) -> Iterator[DeviceKey]:
        """The kept keys, in the order they were kept."""
        yield from self._keys

    def close(self) -> None:
        """Forget everything."""
        self._payload = io.BytesIO()
        self._keys.clear()


class SpoolScratch(Scratch):
    """The payload (and kept keys) in encrypted spool files under a random key.

    Keys must never touch the disk in clear, not even for the seconds between the passes;
    the key of these files lives only in this object and the files are deleted on close.
    """

    def __init__(self, directory: Path, stem: str) -> None:
        self._key = new_spool_key()
        self._payload_path = directory / f"{stem}.payload.tmp"
        self._keys_path = directory / f"{stem}.keys.tmp"
        self._writers: dict[Path, SpoolWriter] = {}

    def _writer(self, path: Path) -> SpoolWriter:
        """The open writer of ``path``, created on first use (CSV never needs the payload's)."""
        if path not in self._writers:
            self._writers[path] = SpoolWriter(path, self._key)
        return self._writers[path]

    def _finish(self, path: Path) -> bool:
        """Close the writer of ``path``; False when nothing was written there."""
        writer = self._writers.pop(path, None)
        if writer is None:
            return False
        writer.close()
        return True

    @property
    def payload_sink(self) -> BinaryIO:
        """The encrypted payload file, opened on first use."""
        return self._writer(self._payload_path)  # type: ignore[return-value]

    def keep_key(self, item: DeviceKey) -> None:
        """Keep a key, encrypted, for the recipient container's second pass."""
        line = f"{item.device}\t{item.slot}\t{item.algorithm}\t{item.key.hex()}\n"
        self._writer(self._keys_path).write(line.encode("utf-8"))

    def payload(self) -> Iterator[bytes]:
        """The payload read back from its encrypted file."""
        self._finish(self._payload_path)
        with open_spool(self._payload_path, self._key) as source:
            while chunk := source.read(SEGMENT):
                yield chunk

    def keys(self) -> Iterator[DeviceKey]:
        """The kept keys read back from their encrypted file."""
        if not self._finish(self._keys_path):
            return
        with open_spool(self._keys_path, self._key) as source:
            for raw in source:
                device, slot, algorithm, key_hex = raw.decode("utf-8").rstrip("\n").split("\t")
                yield DeviceKey(device, KeySlot(slot), Algorithm(algorithm), bytes.fromhex(key_hex))

    def close(self) -> None:
        """Close what is open and delete both files."""
        for writer in self._writers.values():
            with contextlib.suppress(OSError, ValueError):
                writer.close()
        self._writers.clear()
        for path in (self._payload_path, self._keys_path):
            path.unlink(missing_ok=True)


class _Measured:
    """A sink wrapper that counts and hashes what is written (the protected file)."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        """Count, hash and pass on ``data``."""
        self.size += len(data)
        self.sha256.update(data)
        self._sink.write(data)
        return len(data)


@dataclass
class Built:
    """What was written: counts, the protected file's size and SHA-256, and the record."""

    devices: int
    keys: int
    size: int
    sha256: str
    record: list[bytes]
    record_sha256: str
    manifest: Manifest
    device_ids: list[int] | None = field(default=None)
    fingerprints: list[str] | None = field(default=None)


def _scope(manufacturer: Any, cache: dict[Any, str]) -> str:
    """The vault scope of a manufacturer id as the driver gives it (UUID, or hex text)."""
    scope = cache.get(manufacturer)
    if scope is None:
        scope = cache[manufacturer] = f"org:{uuid.UUID(str(manufacturer))}"
    return scope


def unseal_rows(vault: Vault, rows: list[Row], scopes: dict[Any, str]) -> list[bytes]:
    """The keys of ``rows``, in row order: one vault call per (scope, slot, version)."""
    if len(set(map(_GROUP, rows))) == 1:
        # The common chunk: one manufacturer, one slot, one version.
        head = rows[0]
        return vault.unseal_batch(
            scope=_scope(head[I_MANUFACTURER], scopes),
            slot=head[I_SLOT],
            version=head[I_VERSION],
            items=[(str(row[I_DEVICE]), bytes(row[I_SEALED])) for row in rows],
        )
    groups: dict[tuple[Any, str, int], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row[I_MANUFACTURER], row[I_SLOT], row[I_VERSION]), []).append(index)
    keys: list[bytes] = [b""] * len(rows)
    for (manufacturer, slot, version), indexes in groups.items():
        opened = vault.unseal_batch(
            scope=_scope(manufacturer, scopes),
            slot=slot,
            version=version,
            items=[(str(rows[i][I_DEVICE]), bytes(rows[i][I_SEALED])) for i in indexes],
        )
        for index, key in zip(indexes, opened, strict=True):
            keys[index] = key
    return keys


@dataclass(frozen=True)
class Chunk:
    """Rows of whole devices with their keys (in row order) and their labels by device."""

    rows: list[Row]
    keys: list[bytes]
    labels: dict[int, tuple[str, ...]]


class Builder:
    """One build: the rows of ``source`` → format → scratch → protection → ``sink``."""

    def __init__(
        self,
        *,
        vault: Vault,
        source: KeySource,
        actor: Any,
        options: DownloadOptions,
        labels: bool,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.vault = vault
        self.source = source
        self.actor = actor
        self.options = options
        self.labels = labels
        self.progress = progress
        self.record = Record()
        self.checks = KeyCheckList()
        self._scopes: dict[Any, str] = {}

    def chunks(self, scratch: Scratch) -> Iterator[Chunk]:
        """Unseal chunk by chunk; keeps the checks, the record and (recipient) the keys."""
        recipient = self.options.protection == Protection.RECIPIENT
        for rows in self.source.chunks():
            if not rows:
                continue
            keys = unseal_rows(self.vault, rows, self._scopes)
            labels = labels_of([row[I_DEVICE] for row in rows], self.actor) if self.labels else {}
            self.record.add(rows)
            if recipient:
                for row, key in zip(rows, keys, strict=True):
                    slot, algorithm = _SLOTS[row[I_SLOT]], _ALGORITHMS[row[I_ALGORITHM]]
                    scratch.keep_key(DeviceKey(row[I_SERIAL], slot, algorithm, key))
            else:
                # Column-wise: the database's own strings go in, checked per batch.
                columns = zip(*map(_CHECK_FIELDS, rows), strict=True)
                self.checks.extend(*map(list, columns))  # type: ignore[arg-type]
            yield Chunk(rows, keys, labels)
            if self.progress is not None:
                self.progress(self.source.devices)

    def export_rows(self, scratch: Scratch) -> Iterator[ExportRow]:
        """The unsealed keys as export rows, for the format writers."""
        for chunk in self.chunks(scratch):
            labels = chunk.labels
            for row, key in zip(chunk.rows, chunk.keys, strict=True):
                slot, algorithm = _SLOTS[row[I_SLOT]], _ALGORITHMS[row[I_ALGORITHM]]
                yield _export_row(row, key, slot, algorithm, labels.get(row[I_DEVICE], ()))

    def payload(self, scratch: Scratch) -> Iterator[bytes]:
        """The payload in the chosen format, in pieces.

        CSV comes straight from the rows, column by column, while the protection consumes
        it: one pass. The other formats' writers run their own loops, so their output waits
        in the scratch (encrypted) and is read back.
        """
        if self.options.format == "csv":
            return csv_payload(self.chunks(scratch), self.options)
        write(
            self.options.format,
            self.export_rows(scratch),
            scratch.payload_sink,
            **self.options.writer_options(),
        )
        return scratch.payload()

    def build(
        self, *, sink: BinaryIO, scratch: Scratch, description: ExportDescription, secret: Secret
    ) -> Built:
        """Write the protected file to ``sink``; the scratch is closed afterwards."""
        measured = _Measured(sink)
        try:
            payload = self.payload(scratch)
            recipient = self.options.protection == Protection.RECIPIENT
            # The checks fill up while the payload is consumed; the manifest is made after.
            manifest = protect(
                measured,  # type: ignore[arg-type]
                payload,
                protection=self.options.protection,
                description=description,
                key_checks=() if recipient else self.checks,
                keys=scratch.keys() if recipient else (),
                password=secret.password,
                recipient_public_key=secret.recipient_public_key,
            )
        finally:
            scratch.close()
            self.checks = KeyCheckList()
        record, record_sha256 = self.record.finish()
        return Built(
            devices=self.source.devices,
            keys=self.source.keys,
            size=measured.size,
            sha256=measured.sha256.hexdigest(),
            record=record,
            record_sha256=record_sha256,
            manifest=manifest,
            device_ids=self.record.device_ids,
            fingerprints=self.record.fingerprints,
        )


def _export_row(
    row: Row, key: bytes, slot: KeySlot, algorithm: Algorithm, labels: tuple[str, ...]
) -> ExportRow:
    # Empty texts stay "" (every writer treats "" like None): no per-field conversions.
    return ExportRow(
        row[I_SERIAL],
        slot,
        algorithm,
        key,
        row[I_KCV],
        row[I_TYPE],
        row[I_WMBUS_MANUFACTURER],
        row[I_METER_ADDRESS],
        row[I_WMBUS_VERSION],
        row[I_MEDIUM],
        row[I_MODULE_ADDRESS],
        row[I_DEV_EUI],
        row[I_JOIN_EUI],
        row[I_DEV_ADDR],
        row[I_LORAWAN_VERSION],
        row[I_VERSION],
        labels,
    )
