"""The unprotected container: payload and manifest side by side in a canonical ZIP.

Members, in this order: the payload under its own name (e.g. ``keys.csv``) and
``manifest.json``. Nothing is secret or authenticated: the ZIP CRCs, the canonical-form check
and the manifest's SHA-256 catch accidental damage, not deliberate changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from meterkms.vault.containers.errors import ContainerError, UnsupportedFileError
from meterkms.vault.containers.stream import as_chunks
from meterkms.vault.containers.zipped import DateTime, StrictZip, ZipWriter

MANIFEST_NAME = "manifest.json"
#: Names the payload may not take, so that the kinds of ZIP export stay distinguishable.
RESERVED_NAMES = frozenset({MANIFEST_NAME, "manifest.xenc", "payload.enc", "wrapped-keys.json"})
_MAX_MANIFEST = 512 << 20


def is_plain(names: tuple[str, ...]) -> bool:
    """Whether a ZIP with these members is an unprotected export."""
    return len(names) == 2 and names[1] == MANIFEST_NAME and names[0] not in RESERVED_NAMES


def write_plain_container(
    out: BinaryIO,
    payload: Iterable[bytes],
    manifest: Callable[[], bytes | Iterable[bytes]],
    *,
    payload_name: str,
    date_time: DateTime,
) -> None:
    """Write payload then ``manifest()`` (called after the payload is consumed) as a ZIP."""
    if payload_name in RESERVED_NAMES:
        raise ContainerError(f"{payload_name!r} is reserved; name the payload differently")
    zipper = ZipWriter(out, date_time=date_time)
    zipper.add(payload_name, payload)
    zipper.add(MANIFEST_NAME, as_chunks(manifest()))
    zipper.close()


def read_plain_container(archive: StrictZip, sink: BinaryIO) -> tuple[str, bytes]:
    """Copy the payload to ``sink``; return its member name and the manifest bytes."""
    if not is_plain(archive.names):
        raise UnsupportedFileError("not an unprotected export (unexpected ZIP members)")
    for block in archive.chunks(archive.names[0]):
        sink.write(block)
    return archive.names[0], archive.read(MANIFEST_NAME, limit=_MAX_MANIFEST)
