"""Every parser survives arbitrary bytes and mutated valid files, and never echoes keys."""

import io
import json
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkms.devices.importers import PARSERS, DeviceRecord, RecordError, parse
from meterkms.devices.importers.records import Severity
from tests.devices.importers.parsing import leaks, run

KEYS = [
    "8E6C1E2A4B9D0F3357A1C2D4E6F80911",
    "C0FFEE0DDBA11FACE5EED1234ABCD987",
    "0123456789ABCDEFFEDCBA9876543210",
]


def _xlsx(keys: list[str]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["serial", "manufacturer", "meter_address", "key"])
    for index, key in enumerate(keys):
        sheet.append([f"X{index}", "AMT", f"0000000{index}", key])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _kem_zip(keys: list[str]) -> bytes:
    meters = "".join(
        f"<Meter><MeterName>MC21</MeterName><SerialNo>1234567{i}</SerialNo>"
        f"<VendorId>KAM</VendorId><DEK>{key}</DEK></Meter>"
        for i, key in enumerate(keys)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "00112233445566778899aabbccddeeff.kem", f"<MetersInOrder>{meters}</MetersInOrder>"
        )
    return out.getvalue()


def samples(keys: list[str]) -> dict[str, bytes]:
    """A small valid file of each format with one device per key."""
    return {
        "csv": (
            "\ufeffserial;manufacturer;meter_address;medium;slot;key\r\n"
            + "".join(f'"S{i}";AMT;1234567{i};07;OMS;{k}\r\n' for i, k in enumerate(keys))
        ).encode(),
        "tts-csv": (
            "dev_eui;join_eui;lorawan_version;app_key\n"
            + "".join(
                f"70B3D57ED000000{i};70B3D57ED0000000;MAC_V1_0_4;{k}\n" for i, k in enumerate(keys)
            )
        ).encode(),
        "json": json.dumps(
            [
                {"serial": f"J{i}", "keys": [{"slot": "AppKey", "key": k}]}
                for i, k in enumerate(keys)
            ]
        ).encode(),
        "tts-json": "".join(
            json.dumps(
                {
                    "ids": {"dev_eui": f"70B3D57ED000000{i}", "join_eui": "70B3D57ED0000000"},
                    "root_keys": {"app_key": {"key": k}},
                }
            )
            for i, k in enumerate(keys)
        ).encode(),
        "xlsx": _xlsx(keys),
        "kem": _kem_zip(keys),
        "keylist": "".join(f"AMT;1234567{i};{k}\n" for i, k in enumerate(keys)).encode(),
        "wmbusmeters": "".join(
            f"name=W{i}\ndriver=auto\nid=1234567{i}\nkey={k}\n\n" for i, k in enumerate(keys)
        ).encode(),
    }


SAMPLES: dict[str, bytes] = samples(KEYS)

MUTATION = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.sampled_from(["flip", "drop", "insert", "cut"]),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=6,
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mutate(data: bytes, edits: list[tuple[int, str, int]]) -> bytes:
    buffer = bytearray(data)
    for position, operation, value in edits:
        if not buffer:
            break
        at = position % len(buffer)
        if operation == "flip":
            buffer[at] ^= value or 1
        elif operation == "drop":
            del buffer[at]
        elif operation == "insert":
            buffer.insert(at, value)
        else:
            del buffer[at:]
    return bytes(buffer)


def _check(items: list) -> None:
    assert all(isinstance(item, (DeviceRecord, RecordError)) for item in items)
    stops = [i for i, item in enumerate(items) if getattr(item, "severity", None) is Severity.FATAL]
    assert stops in ([], [len(items) - 1])
    assert all(item.line >= 0 for item in items if isinstance(item, RecordError))
    assert leaks(items, KEYS) == []


def test_every_sample_parses_cleanly():
    for name, data in SAMPLES.items():
        items = run(PARSERS[name], data)
        assert [i for i in items if isinstance(i, RecordError) and i.blocking] == [], name
        assert len([i for i in items if isinstance(i, DeviceRecord)]) == 3, name


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=2000))
def test_parser_survives_arbitrary_bytes(name, data):
    _check(run(PARSERS[name], data))


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(edits=MUTATION)
def test_parser_survives_mutated_valid_files_without_echoing_keys(name, edits):
    _check(run(PARSERS[name], _mutate(SAMPLES[name], edits)))


@FUZZ
@given(edits=MUTATION, name=st.sampled_from(sorted(SAMPLES)))
def test_sniffing_dispatcher_survives_mutated_files(edits, name):
    _check(list(parse(io.BytesIO(_mutate(SAMPLES[name], edits)))))
