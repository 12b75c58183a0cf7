"""Tests of the canonical ZIP writer and its strict reader."""

import io
import shutil
import subprocess
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.containers import zipped
from meterkms.vault.containers.errors import ContainerError, DamagedFileError
from meterkms.vault.containers.zipped import StrictZip, ZipWriter, zip_date_time
from tests.support.tiers import require

WHEN = (2026, 11, 27, 10, 15, 30)


class Unseekable:
    """An output that only accepts writes, like a streamed HTTP response."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data):
        self.data += data
        return len(data)


def build(members, date_time=WHEN):
    out = Unseekable()
    writer = ZipWriter(out, date_time=date_time)
    for name, chunks in members:
        writer.add(name, chunks)
    writer.close()
    return bytes(out.data)


SMALL = build([("keys.csv", [b"serial;key\n", b"1;00\n"]), ("manifest.json", [b"{}\n"])])


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True),
            st.lists(st.binary(max_size=300), max_size=4),
        ),
        max_size=4,
        unique_by=lambda member: member[0],
    )
)
def test_members_round_trip_through_the_standard_zipfile_reader(members):
    data = build(members)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert [(i.filename, archive.read(i)) for i in archive.infolist()] == [
            (name, b"".join(chunks)) for name, chunks in members
        ]
        assert all(info.date_time == WHEN for info in archive.infolist())
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    strict = StrictZip(io.BytesIO(data))
    assert strict.names == tuple(name for name, _ in members)


def test_the_same_members_always_give_the_same_bytes():
    again = build([("keys.csv", [b"serial;key\n1;00\n"]), ("manifest.json", [b"{}", b"\n"])])
    assert again == SMALL


def test_every_single_flipped_bit_is_detected():
    for bit in range(len(SMALL) * 8):
        damaged = bytearray(SMALL)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DamagedFileError):
            StrictZip(io.BytesIO(bytes(damaged)))


def test_every_truncation_is_detected():
    for length in range(len(SMALL)):
        with pytest.raises(DamagedFileError):
            StrictZip(io.BytesIO(SMALL[:length]))


def test_appended_bytes_are_detected():
    with pytest.raises(DamagedFileError):
        StrictZip(io.BytesIO(SMALL + b"\0"))


def test_a_zip_written_by_another_tool_is_not_canonical():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("keys.csv", b"serial;key\n1;00\n")
        archive.writestr("manifest.json", b"{}\n")
    with pytest.raises(DamagedFileError, match="canonical"):
        StrictZip(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("name", ["", ".hidden", "../escape", "a/b", "a\\b", "ä.csv", "x" * 129])
def test_unsafe_member_names_are_refused(name):
    with pytest.raises(ContainerError, match="cannot be a file name"):
        build([(name, [b"x"])])


def test_archive_larger_than_4_gib_is_refused(monkeypatch):
    monkeypatch.setattr(zipped, "_LIMIT", 1000)
    with pytest.raises(ContainerError, match="4 GiB"):
        build([("big.bin", [b"\0" * 600, b"\0" * 600])])


def test_zip_dates_outside_the_dos_range_are_refused():
    from datetime import UTC, datetime

    assert zip_date_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (2026, 1, 2, 3, 4, 5)
    with pytest.raises(ContainerError, match="1980 to 2107"):
        zip_date_time(datetime(1979, 12, 31, tzinfo=UTC))


def test_info_zip_unzip_accepts_the_streamed_layout(tmp_path):
    require(shutil.which("unzip") is not None, "Info-ZIP unzip")
    path = tmp_path / "export.zip"
    path.write_bytes(SMALL)
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout
