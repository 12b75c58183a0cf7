from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import DeviceRecord, KeyText, ParseOptions, RecordError, Severity

KEY = "8E6C1E2A4B9D0F3357A1C2D4E6F80911"


def test_key_text_and_records_never_show_key_digits():
    key = KeyText(KEY, None, "ABCDEF")
    record = DeviceRecord(2, "A1", keys={KeySlot.OMS: key})
    assert KEY[:6] not in repr(key)
    assert KEY[:6] not in repr(record)
    assert "16 bytes" in repr(key)
    assert key.value == bytes.fromhex(KEY)


def test_problem_text_names_line_and_column():
    assert str(RecordError(7, "app_key", "bad")) == "line 7, column app_key: bad"
    assert str(RecordError(0, None, "empty", Severity.FATAL)) == "file: empty"
    assert str(RecordError(3, "column 2 (Foo)", "ignored")) == "line 3, column 2 (Foo): ignored"
    assert not RecordError(1, None, "x", Severity.WARNING).blocking


def test_options_repr_hides_the_kem_password():
    assert "s3cret" not in repr(ParseOptions(password="s3cret"))
