"""Encrypted spool files: what is read back is what was written; nothing readable at rest."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.containers.errors import ContainerError
from meterkms.vault.spool import SEGMENT, new_spool_key, open_spool, write_spool


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(min_value=1, max_value=700))
def test_spool_round_trips_any_content(tmp_path_factory, data: bytes, chunk: int) -> None:
    path = tmp_path_factory.mktemp("spool") / "f"
    key = new_spool_key()
    assert write_spool(io.BytesIO(data), path, key) == len(data)
    with open_spool(path, key) as stream:
        parts = iter(lambda: stream.read(chunk), b"")
        assert b"".join(parts) == data


def test_multi_segment_file_round_trips_and_hides_the_plaintext(tmp_path: Path) -> None:
    data = (b"SERIAL;00112233445566778899AABBCCDDEEFF\n" * (SEGMENT // 20)) + b"tail"
    path = tmp_path / "big"
    key = new_spool_key()
    write_spool(io.BytesIO(data), path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"00112233445566778899AABBCCDDEEFF" not in path.read_bytes()
    with open_spool(path, key) as stream:
        assert stream.read() == data


@pytest.mark.parametrize("damage", ["truncate", "flip", "wrong-key", "drop-tail"])
def test_damaged_or_foreign_spool_files_do_not_open(tmp_path: Path, damage: str) -> None:
    data = os.urandom(SEGMENT + 1000)
    path = tmp_path / "f"
    key = new_spool_key()
    write_spool(io.BytesIO(data), path, key)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[:-10]
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "drop-tail":
        raw = raw[: 15 + 5 + SEGMENT + 16]  # only the first, non-final segment
    else:
        key = new_spool_key()
    path.write_bytes(bytes(raw))
    with pytest.raises(ContainerError), open_spool(path, key) as stream:
        stream.read()
