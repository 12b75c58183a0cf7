import io
import zipfile

import pytest

from meterkms.devices.importers.limits import MIB, FatalFileError, ImportLimits
from meterkms.devices.importers.safezip import open_zip, read_member, seekable_copy


def _zip(members: dict[str, bytes]) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    out.seek(0)
    return out


def test_archive_with_101_members_is_refused():
    archive = _zip({f"m{i}.txt": b"x" for i in range(101)})
    with pytest.raises(FatalFileError, match="101 members"):
        open_zip(archive, ImportLimits())


def test_thousand_to_one_member_is_refused_but_small_ratios_pass():
    with pytest.raises(FatalFileError, match="zip bomb"):
        open_zip(_zip({"a.xml": b"A" * (10 * MIB)}), ImportLimits())
    small = open_zip(_zip({"a.xml": b"A" * 100_000}), ImportLimits())
    assert read_member(small, "a.xml") == b"A" * 100_000


def test_total_unpacked_size_is_limited():
    members = {f"m{i}": bytes(range(256)) * 40 for i in range(5)}
    with pytest.raises(FatalFileError, match="unpacks to more than"):
        open_zip(_zip(members), ImportLimits(max_bytes=30_000))


def test_not_a_zip_and_non_seekable_input():
    with pytest.raises(FatalFileError, match="not a readable ZIP"):
        open_zip(io.BytesIO(b"hello"), ImportLimits())

    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with seekable_copy(OneWay(_zip({"a": b"hi"}).getvalue()), ImportLimits()) as copy:
        archive = open_zip(copy, ImportLimits())
        assert read_member(archive, "a") == b"hi"
