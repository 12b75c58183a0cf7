import io

import pytest

from meterkms.devices.enums import KeySlot
from meterkms.keys.exports.formats import FORMAT_SLOTS, WRITERS, write
from tests.keys.exports.formats.factories import wmbus_row


def test_rows_never_show_their_key():
    row = wmbus_row()
    assert row.key.hex()[:8] not in repr(row).lower()
    assert "16 bytes" in repr(row)


def test_registry_names_every_writer_and_its_slots():
    assert set(WRITERS) == set(FORMAT_SLOTS)
    assert KeySlot.OMS not in FORMAT_SLOTS["chirpstack"]
    assert KeySlot.LORAWAN_APPKEY not in FORMAT_SLOTS["wmbusmeters"]
    out = io.BytesIO()
    assert write("wmbusmeters", [wmbus_row()], out) == 1
    with pytest.raises(ValueError, match="unknown export format"):
        write("pdf", [], out)


def test_docs_name_every_export_format_and_csv_column():
    from pathlib import Path

    from meterkms.keys.exports.formats.csv_writer import COLUMNS

    text = (Path(__file__).resolve().parents[4] / "docs" / "formats.md").read_text(encoding="utf-8")
    export_part = text[text.index("## Export formats") :]
    assert ", ".join(COLUMNS) in export_part.replace("\n", " ")
    for name in WRITERS:
        assert f"(`{name}`)" in export_part, name
