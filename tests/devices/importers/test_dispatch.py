import io

import pytest

from meterkms.devices.importers import parse, sniff_format
from tests.devices.importers.parsing import random_key
from tests.devices.importers.test_fuzz import SAMPLES

KEY = random_key()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_sniffed_as_its_own_format(name):
    assert sniff_format(SAMPLES[name][:8192]) == name


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b"serial,key\nA1,00", "devices.csv", "csv"),
        (b"dev_eui;join_eui;app_key;serial;frequency_plan_id\n", None, "tts-csv"),
        (b"MAN;SERIAL;KEY\n", "keys.txt", "keylist"),
        (f"12345678;{KEY}\n".encode(), "keys.txt", "keylist"),
        (b"\xef\xbb\xbf  [{}]", None, "json"),
        (b'{"ids": {}}', None, "tts-json"),
        (b"<?xml version='1.0'?><MetersInOrder/>", None, "kem"),
        (b"PK\x03\x04whatever", "keys.kem2", "kem"),
        (b"PK\x03\x04whatever", "book.xlsx", "xlsx"),
        (b"# wmbusmeters\nname=x\n", None, "wmbusmeters"),
    ],
)
def test_sniffing_by_content_and_extension(head, filename, expected):
    assert sniff_format(head, filename) == expected


def test_parse_replays_the_sniffed_head_and_reads_the_rest():
    body = "serial;key\n" + "".join(f"A{i};{KEY}\n" for i in range(3000))
    items = list(parse(io.BytesIO(body.encode())))
    assert len(items) == 3000


def test_unknown_format_name_is_a_caller_error_and_empty_input_a_file_error():
    with pytest.raises(ValueError, match="unknown import format"):
        parse(io.BytesIO(b""), format="pdf")
    [problem] = list(parse(io.BytesIO(b"")))
    assert problem.message == "the file is empty"
