"""Encrypted spool files: what is read back is what was written; nothing readable at rest."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
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


# The patched segment size is the same for every example.
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=0, max_value=3 * 4096),
    reads=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3 * 4096 + 10),
            st.integers(min_value=0, max_value=5000),
        ),
        max_size=12,
    ),
)
def test_spool_reads_from_any_position(tmp_path_factory, monkeypatch, size, reads) -> None:
    import meterkms.vault.spool as spool

    monkeypatch.setattr(spool, "SEGMENT", 4096)  # several segments without megabytes of data
    monkeypatch.setattr(spool, "_STRIDE", 4096 + 21)
    data = os.urandom(size)
    path = tmp_path_factory.mktemp("spool") / "f"
    key = new_spool_key()
    spool.write_spool(io.BytesIO(data), path, key)
    with spool.open_spool(path, key) as stream:
        assert stream.seekable()
        assert stream.seek(0, io.SEEK_END) == size
        for position, count in reads:
            stream.seek(position)
            assert stream.read(count) == data[position : position + count]
            assert stream.tell() == min(position + count, max(position, size))


def test_a_zip_archive_opens_in_place_from_the_spool(tmp_path: Path) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.bin", os.urandom(SEGMENT + 500))
        archive.writestr("b.txt", b"the last member, after a segment boundary")
    path = tmp_path / "zip"
    key = new_spool_key()
    write_spool(io.BytesIO(buffer.getvalue()), path, key)
    with open_spool(path, key) as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("b.txt") == b"the last member, after a segment boundary"
        assert archive.testzip() is None


def test_extra_bytes_after_the_final_segment_do_not_open(tmp_path: Path) -> None:
    path = tmp_path / "f"
    key = new_spool_key()
    write_spool(io.BytesIO(b"x" * 100), path, key)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ContainerError), open_spool(path, key) as stream:
        stream.read()
