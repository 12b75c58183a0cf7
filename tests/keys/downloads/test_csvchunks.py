"""The CSV fast path writes exactly what the CSV writer writes for the same keys."""

from __future__ import annotations

import io
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.keys.downloads.build import _ALGORITHMS, _SLOTS, Chunk, _export_row
from meterkms.keys.downloads.csvchunks import write_csv_chunks
from meterkms.keys.downloads.options import DownloadOptions
from meterkms.keys.downloads.source import COLUMNS, I_ALGORITHM, I_SLOT
from meterkms.keys.exports.formats import write_csv
from meterkms.keys.exports.formats.cells import THOUSANDS_SEPARATORS
from meterkms.keys.exports.formats.csv_writer import DELIMITERS

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
tricky = st.one_of(texts, st.sampled_from(["=cmd|' /C calc'!A0", "+1", "-x", "@sum", '"q"', ""]))
numbers = st.one_of(st.none(), st.integers(0, 300))
rows = st.lists(
    st.tuples(
        tricky,  # serial
        tricky,  # device type
        tricky,  # manufacturer
        tricky,  # meter address
        numbers,  # version
        numbers,  # medium
        tricky,  # module address
        tricky,  # DevEUI
        tricky,  # JoinEUI
        tricky,  # DevAddr
        tricky,  # LoRaWAN version
        st.sampled_from([("OMS", "AES128"), ("MBUS", "AES256"), ("AppKey", "AES128")]),
        st.integers(1, 2_000_000),  # key version
        st.lists(tricky, max_size=3).map(tuple),  # labels
    ),
    max_size=30,
)


def _row(index: int, item: tuple) -> tuple:
    (serial, kind, man, address, version, medium, module, eui, join, addr, lora,
     (slot, algorithm), key_version, _labels) = item  # fmt: skip
    values = {
        "pk": index, "serial": serial, "manufacturer_text": "m", "device_type__name": kind,
        "wmbus_manufacturer": man, "meter_address": address, "wmbus_version": version,
        "medium": medium, "module_address": module, "dev_eui": eui, "join_eui": join,
        "dev_addr": addr, "lorawan_version": lora, "k__slot": slot, "k__algorithm": algorithm,
        "k__version": key_version, "k__sealed": b"", "k__kcv": "A1B2C3", "k__fingerprint": "f",
    }  # fmt: skip
    return tuple(values[name] for name in COLUMNS)


@settings(max_examples=150, deadline=None)
@given(
    items=rows,
    delimiter=st.sampled_from(DELIMITERS),
    thousands=st.sampled_from(THOUSANDS_SEPARATORS),
)
def test_the_fast_path_writes_the_bytes_of_the_csv_writer(
    items: list, delimiter: str, thousands: str
) -> None:
    key_rows = [_row(index, item) for index, item in enumerate(items)]
    keys = [os.urandom(16) for _ in key_rows]
    labels = {index: item[-1] for index, item in enumerate(items) if item[-1]}
    fast = io.BytesIO()
    options = DownloadOptions(format="csv", delimiter=delimiter, thousands=thousands)
    half = len(key_rows) // 2
    chunks = [
        Chunk(key_rows[:half], keys[:half], labels),
        Chunk(key_rows[half:], keys[half:], labels),
    ]
    written = write_csv_chunks(chunks, fast, options)
    reference = io.BytesIO()
    export_rows = [
        _export_row(row, key, _SLOTS[slot], _ALGORITHMS[algorithm], labels.get(row[0], ()))
        for row, key in zip(key_rows, keys, strict=True)
        for slot, algorithm in [(row[I_SLOT], row[I_ALGORITHM])]
    ]
    assert written == write_csv(export_rows, reference, delimiter=delimiter, thousands=thousands)
    assert fast.getvalue() == reference.getvalue()
