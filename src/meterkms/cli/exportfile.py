"""``meterkms export open FILE``: open and verify a key file, as its recipient does.

Plain Python (no Django, no server configuration): a recipient who installed meterkms only
to check a file can run it anywhere. Every protection is recognised from the bytes; the
manifest is checked against what was decrypted (size, SHA-256, counts, key check values of
wrapped keys) before anything is written. The payload goes to ``--out`` (written to a
temporary file next to it and renamed only when every check passed) or to standard output
(only after the checks). What was verified is summarised on standard error.

Exit status: 0 verified, 2 usage, 3 password or private key missing or wrong, 4 damaged or
not a meterkms file, 5 a file could not be read or written.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from meterkms.keys.exports.protection import (
    ContainerError,
    OpenedExport,
    SecretRequiredError,
    WrongSecretError,
    open_export,
    open_export_to,
)

EXIT_OK, EXIT_SECRET, EXIT_DAMAGED, EXIT_IO = 0, 3, 4, 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterkms export open",
        description="Open and verify a meterkms key file; write its payload.",
    )
    parser.add_argument("file", type=Path, help="the downloaded file (.zip, .mkms, .kem, …)")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (or the private key's passphrase) from standard input",
    )
    parser.add_argument(
        "--private-key", type=Path, help="PEM private key, for files made for a recipient key"
    )
    parser.add_argument("--out", type=Path, help="write the payload here (default: stdout)")
    parser.add_argument("--manifest", type=Path, help="also write the manifest (JSON) here")
    return parser


def _read_password(stdin: TextIO) -> str:
    line = stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _write_atomically[T](target: Path, fill: Callable[[BinaryIO], T]) -> T:
    """Create ``target`` from a temporary file in its directory, kept only on success."""
    directory = target.resolve().parent
    descriptor, temporary = tempfile.mkstemp(prefix=".meterkms-", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            result = fill(handle)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return result


def _summary(opened: OpenedExport) -> str:
    manifest = opened.manifest
    weak = " (weak)" if opened.protection.weak else ""
    return (
        f"verified: {manifest.payload.name}, {manifest.payload.size} bytes, "
        f"sha256 {manifest.payload.sha256}\n"
        f"  format {manifest.format}, protection {opened.protection.value}{weak}\n"
        f"  {manifest.device_count} devices, {manifest.key_count} keys, "
        f"created {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC\n"
        f"  exported by {manifest.exporter.name} <{manifest.exporter.email}>, "
        f"{manifest.exporter.organisation}; download {manifest.download_id}\n"
    )


def open_file(
    args: argparse.Namespace, password: str | None, private_key: bytes | None, stdout: BinaryIO
) -> OpenedExport:
    """Open ``args.file``; write the payload to ``args.out`` or ``stdout``."""
    if args.out is not None:
        return _write_atomically(
            args.out,
            lambda handle: open_export_to(
                args.file, handle, password=password, private_key=private_key
            ),
        )
    opened = open_export(args.file, password=password, private_key=private_key)
    stdout.write(opened.payload)
    stdout.flush()
    return opened


def main(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``export open`` with ``argv`` (the arguments after ``open``); returns the status."""
    args = _parser().parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout.buffer
    stderr = stderr or sys.stderr
    try:
        password = _read_password(stdin) if args.password_stdin else None
        private_key = args.private_key.read_bytes() if args.private_key else None
        try:
            opened = open_file(args, password, private_key, stdout)
        except SecretRequiredError:
            if password is not None or not stdin.isatty():
                raise
            password = getpass.getpass("Password: ")
            opened = open_file(args, password, private_key, stdout)
        if args.manifest is not None:
            _write_atomically(args.manifest, lambda handle: handle.write(opened.manifest.to_json()))
    except (SecretRequiredError, WrongSecretError) as exc:
        stderr.write(f"meterkms export open: {exc}\n")
        return EXIT_SECRET
    except ContainerError as exc:
        stderr.write(f"meterkms export open: {exc}\n")
        return EXIT_DAMAGED
    except OSError as exc:
        stderr.write(f"meterkms export open: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_IO
    stderr.write(_summary(opened))
    return EXIT_OK
