"""Benchmark scenario "formats": import parsers and export writers on 100,000-row files.

Each figure stands next to a raw ceiling measured in the same run on the same data: the
csv module, ``json``, or openpyxl doing the bare reading or writing without any checks.
A last figure is the parser's peak Python memory for a million-row CSV (tracemalloc), the
part of the 500 MB import budget the parser takes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator

from meterkms.bench.registry import BenchContext, Figure, scenario
from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import DeviceRecord, parse_csv, parse_json, parse_xlsx
from meterkms.keys.exports.formats import ExportRow, write_csv, write_json, write_xlsx
from meterkms.vault.algorithms import Algorithm

CSV_PARSE_GOAL = 200_000
CSV_WRITE_GOAL = 250_000


def _best(run: Callable[[], object], repeats: int = 3) -> float:
    """The shortest of ``repeats`` timed runs, in seconds (the machine is shared)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _rows(count: int) -> list[ExportRow]:
    return [
        ExportRow(
            f"AMT{i:08d}",
            KeySlot.OMS,
            Algorithm.AES128,
            os.urandom(16),
            os.urandom(3).hex().upper(),
            device_type="TOPAS SONIC",
            manufacturer="AMT",
            meter_address=f"{i % 100_000_000:08d}",
            version=1,
            medium=7,
        )
        for i in range(count)
    ]


def _csv_lines(count: int) -> Iterator[str]:
    yield "serial;manufacturer;meter_address;version;medium;key\r\n"
    for i in range(count):
        yield f"AMT{i:08d};AMT;{i % 100_000_000:08d};01;07;{os.urandom(16).hex().upper()}\r\n"


def _count(items: Iterable[object]) -> int:
    return sum(1 for item in items if type(item) is DeviceRecord)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def _parse_figures(n: int) -> list[Figure]:
    data = "".join(_csv_lines(n)).encode()
    parsed = _best(lambda: _count(parse_csv(io.BytesIO(data))))
    raw = _best(
        lambda: sum(
            1 for _ in csv.reader(io.TextIOWrapper(io.BytesIO(data), newline=""), delimiter=";")
        )
    )
    lines = [json.dumps({"serial": f"J{i}", "oms_key": os.urandom(16).hex()}) for i in range(n)]
    jsonl = ("\n".join(lines) + "\n").encode()
    json_parsed = _best(lambda: _count(parse_json(io.BytesIO(jsonl))), 1)
    json_raw = _best(lambda: [json.loads(line) for line in io.TextIOWrapper(io.BytesIO(jsonl))], 1)
    # openpyxl is two orders of magnitude slower than the csv module: a fifth of the rows.
    small = max(1, n // 5)
    out = io.BytesIO()
    write_xlsx(_rows(small), out)
    xlsx = out.getvalue()
    xlsx_parsed = _best(lambda: _count(parse_xlsx(io.BytesIO(xlsx))), 1)
    xlsx_raw = _best(lambda: _openpyxl_read(xlsx), 1)
    return [
        Figure(
            "CSV parse (100k rows)",
            _rate(n, parsed),
            "rows/s",
            _rate(n, raw),
            "csv.reader",
            f">= {CSV_PARSE_GOAL:,} rows/s",
            _rate(n, parsed) >= CSV_PARSE_GOAL,
        ),
        Figure(
            "JSON Lines parse", _rate(n, json_parsed), "rows/s", _rate(n, json_raw), "json.loads"
        ),
        Figure(
            "XLSX parse",
            _rate(small, xlsx_parsed),
            "rows/s",
            _rate(small, xlsx_raw),
            "openpyxl read-only",
        ),
    ]


def _openpyxl_read(data: bytes) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return count


def _cells(row: ExportRow) -> list[object]:
    """The same 17 cells the CSV and XLSX writers write, without any checks."""
    return [
        row.serial,
        row.device_type,
        row.manufacturer,
        row.meter_address,
        row.version,
        row.medium,
        row.radio_address,
        row.dev_eui,
        row.join_eui,
        row.dev_addr,
        row.lorawan_version,
        "",
        row.slot,
        row.algorithm,
        row.key.hex(),
        row.check_value,
        row.key_version,
    ]


def _raw_csv_write(rows: list[ExportRow]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow(_cells(row))
    buffer.getvalue().encode()


def _raw_xlsx_write(rows: list[ExportRow]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(_cells(row))
    workbook.save(io.BytesIO())


def _raw_json_write(rows: list[ExportRow]) -> None:
    objects = [
        {
            "serial": row.serial,
            "manufacturer": row.manufacturer,
            "meter_address": row.meter_address,
            "keys": [{"slot": row.slot, "key": row.key.hex(), "kcv": row.check_value}],
        }
        for row in rows
    ]
    json.dumps(objects).encode()


def _write_figures(n: int) -> list[Figure]:
    rows = _rows(n)
    written = _best(lambda: write_csv(rows, io.BytesIO()))
    raw = _best(lambda: _raw_csv_write(rows))
    json_written = _best(lambda: write_json(rows, io.BytesIO()), 1)
    json_raw = _best(lambda: _raw_json_write(rows), 1)
    small = rows[: max(1, n // 5)]
    xlsx_written = _best(lambda: write_xlsx(small, io.BytesIO()), 1)
    xlsx_raw = _best(lambda: _raw_xlsx_write(small), 1)
    return [
        Figure(
            "CSV write (100k rows)",
            _rate(n, written),
            "rows/s",
            _rate(n, raw),
            "csv.writer, same 17 columns",
            f">= {CSV_WRITE_GOAL:,} rows/s",
            _rate(n, written) >= CSV_WRITE_GOAL,
        ),
        Figure(
            "JSON write",
            _rate(n, json_written),
            "rows/s",
            _rate(n, json_raw),
            "json.dumps, smaller objects",
        ),
        Figure(
            "XLSX write",
            _rate(len(small), xlsx_written),
            "rows/s",
            _rate(len(small), xlsx_raw),
            "openpyxl write-only, same cells",
        ),
    ]


class _Lines(io.RawIOBase):
    """A CSV of ``count`` rows produced on the fly, so the file itself takes no memory."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self._lines = _csv_lines(count)
        self._pending = b""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with the next generated lines."""
        while len(self._pending) < len(buffer):
            chunk = "".join(line for _, line in zip(range(1000), self._lines, strict=False))
            if not chunk:
                break
            self._pending += chunk.encode()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _memory_figure(n: int) -> Figure:
    tracemalloc.start()
    try:
        count = _count(parse_csv(io.BufferedReader(_Lines(n))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_million = peak / max(count, 1) * 1_000_000 / 2**20
    return Figure(
        f"CSV parse peak memory ({count:,} rows, per 1M)",
        per_million,
        "MiB",
        500,
        "import budget",
        "<= 250 MiB (half the 500 MB pipeline budget)",
        per_million <= 250,
    )


@scenario("formats", description="import parsers and export writers on 100,000-row files")
def run(ctx: BenchContext) -> list[Figure]:
    """Parser and writer throughput, each next to its raw ceiling, and parser memory."""
    n = ctx.n(100_000)
    ctx.progress(f"parsing {n:,} rows (CSV, JSON Lines, XLSX)")
    figures = _parse_figures(n)
    ctx.progress(f"writing {n:,} rows (CSV, JSON, XLSX)")
    figures += _write_figures(n)
    ctx.progress("parser memory on a million-row CSV")
    figures.append(_memory_figure(ctx.n(1_000_000)))
    return figures
