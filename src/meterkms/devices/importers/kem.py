"""Kamstrup KEM and KEM2 import: ZIP or bare XML, XML-Encryption, meters with their DEK.

A download ``….kem`` / ``….kem2`` is a ZIP holding ``<GUID>.kem`` (and an XSD); the member,
or a bare file, is W3C XML-Encryption ``EncryptedData`` (AES-128-CBC, key and IV derived from
the password). Decryption is the vault's (``meterkms.vault.xmlenc``); this module only reads
the archive and the decrypted XML:

- KEM: root ``MetersInOrder``, repeated ``Meter`` with ``MeterName``, ``SerialNo``,
  ``VendorId``, ``DEK`` (and ``ConsumptionType``, ``MeterNo``, ``ConfigNo``, ``TypeNo``);
- KEM2: root ``Devices``, repeated ``Device`` with ``ShortName``, ``SerialNumber``,
  ``ManufacturerId`` and keys as ``<Name>DEK</Name><Value>…</Value>``.

XML is parsed with defusedxml's expat reader with DTDs forbidden, so neither entity
expansion nor external references can be smuggled in. Line numbers are those of the
decrypted XML.
"""

from __future__ import annotations

import io
import re
import xml.sax
from collections.abc import Iterator
from typing import BinaryIO
from xml.sax.expatreader import ExpatLocator

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers.assembler import NumberPolicy, RecordAssembler
from meterkms.devices.importers.base import DEFAULT_OPTIONS, ParseOptions, guarded
from meterkms.devices.importers.columns import SPECS, ColumnSpec, Planned
from meterkms.devices.importers.limits import FatalFileError, limited_binary
from meterkms.devices.importers.records import ParsedItem
from meterkms.devices.importers.safezip import open_zip, read_member

_RECORDS = {"Meter": "kem", "Device": "kem2"}
_ROOTS = {"MetersInOrder", "Devices", "EncryptedData"}
_DIGITS8 = re.compile(r"[0-9]{8}")
_LETTERS3 = re.compile(r"[A-Za-z]{3}")
_TRAILING_JUNK = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")
_OMS_KEY = SPECS["oms_key"]

#: Element → field for each dialect; the serial doubles as the wM-Bus address when 8 digits.
_FIELDS: dict[str, dict[str, ColumnSpec]] = {
    "kem": {
        "SerialNo": SPECS["serial"],
        "MeterName": SPECS["device_type"],
        "VendorId": SPECS["manufacturer"],
        "DEK": _OMS_KEY,
    },
    "kem2": {
        "SerialNumber": SPECS["serial"],
        "ShortName": SPECS["device_type"],
        "ManufacturerId": SPECS["manufacturer"],
    },
}


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


class _Handler(xml.sax.ContentHandler):
    """Collects one dict of child texts (and Name/Value key pairs) per Meter or Device."""

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self.max_chars = max_chars
        self.root: str | None = None
        self.done: list[tuple[int, str, dict[str, str], list[tuple[str, str]]]] = []
        self._record: tuple[int, str, dict[str, str], list[tuple[str, str]]] | None = None
        self._text: list[str] = []
        self._size = 0
        self._last_name = ""

    def startElement(self, name: str, attrs: object) -> None:  # SAX method name
        """Note the root, open a record at Meter/Device, start collecting text."""
        local = _local(name)
        if self.root is None:
            self.root = local
            if local not in _ROOTS:
                raise FatalFileError(0, "the file is not a Kamstrup KEM file")
        if local in _RECORDS and self._record is None:
            line = self._locator.getLineNumber() if self._locator else 0
            self._record = (line, _RECORDS[local], {}, [])
        self._text, self._size = [], 0

    def characters(self, content: str) -> None:
        """Collect text inside a record, at most the field limit (and a little more)."""
        if self._record is not None and self._size <= self.max_chars:
            self._text.append(content)
            self._size += len(content)

    def endElement(self, name: str) -> None:  # SAX method name
        """Store a child's text, a Name/Value key pair, or close the record."""
        local = _local(name)
        record = self._record
        if record is None:
            return
        if local in _RECORDS:
            self.done.append(record)
            self._record = None
            return
        text = "".join(self._text).strip()
        self._text, self._size = [], 0
        if local in _RECORDS:
            self._last_name = ""
        if local == "Name":
            self._last_name = text
        elif local == "Value":
            record[3].append((self._last_name, text))
        else:
            record[2].setdefault(local, text)


def _cells(
    dialect: str, found: dict[str, str], keys: list[tuple[str, str]]
) -> tuple[list[object], list[Planned]]:
    cells: list[object] = []
    plan: list[Planned] = []
    for element, spec in _FIELDS[dialect].items():
        value = found.get(element)
        if value is None:
            continue
        if spec.name == "manufacturer" and not _LETTERS3.fullmatch(value):
            continue  # a numeric vendor id is not a wM-Bus manufacturer code
        plan.append((len(cells), spec, element))
        cells.append(value)
        if spec.name == "serial" and _DIGITS8.fullmatch(value):
            plan.append((len(cells), SPECS["meter_address"], element))
            cells.append(value)
    for name, value in keys:
        if name.upper() == "DEK":
            plan.append((len(cells), _OMS_KEY, "Value"))
            cells.append(value)
    return cells, plan


def _decrypt(xml_bytes: bytes, password: str | None) -> bytes:
    if password is None:
        raise FatalFileError(0, "the KEM file is encrypted; give its password")
    try:
        from meterkms.vault.xmlenc import XmlEncError, decrypt_encrypted_data
    except ImportError:
        raise FatalFileError(
            0, "decrypting KEM files is not available in this installation"
        ) from None
    try:
        plain = decrypt_encrypted_data(xml_bytes, password)
    except XmlEncError:
        # Never the exception text: it is the vault's, and the rule is no key material here.
        raise FatalFileError(
            0, "the KEM file could not be decrypted: is the password right?"
        ) from None
    return _TRAILING_JUNK.sub(b"", plain)


def _sax(data: bytes, handler: _Handler, what: str) -> Iterator[None]:
    """Feed ``data`` to a DTD-forbidding expat reader, pausing after every chunk."""
    parser = DefusedExpatParser(forbid_dtd=True)
    parser.setContentHandler(handler)
    # feed() skips prepareParser(), which is where expat hands out its locator.
    handler.setDocumentLocator(ExpatLocator(parser))
    try:
        for start in range(0, len(data), 64 * 1024):
            parser.feed(data[start : start + 64 * 1024])
            yield
        parser.close()
    except (xml.sax.SAXException, DefusedXmlException, ValueError):
        raise FatalFileError(0, f"{what} is not valid XML") from None


def _xml_of(stream: BinaryIO, options: ParseOptions) -> bytes:
    data = limited_binary(stream, options.limits).read()
    if not data.strip():
        raise FatalFileError(0, "the file is empty")
    if not data.startswith(b"PK\x03\x04"):
        return _TRAILING_JUNK.sub(b"", data)

    archive = open_zip(io.BytesIO(data), options.limits)
    with archive:
        names = [n for n in archive.namelist() if n.lower().endswith((".kem", ".kem2"))]
        if len(names) != 1:
            raise FatalFileError(0, "the archive must hold exactly one .kem file")
        return _TRAILING_JUNK.sub(b"", read_member(archive, names[0]))


def _parse(stream: BinaryIO, options: ParseOptions) -> Iterator[list[ParsedItem]]:
    data = _xml_of(stream, options)
    probe = _Handler(options.limits.max_field_chars)
    try:
        for _ in _sax(data, probe, "the KEM file"):
            if probe.root is not None:
                break
    except FatalFileError:
        if probe.root is None:
            raise
    if probe.root == "EncryptedData":
        data = _decrypt(data, options.password)
        what = "the decrypted KEM content (wrong password?)"
    else:
        what = "the KEM file"
    handler = _Handler(options.limits.max_field_chars)
    assembler = RecordAssembler(
        limits=options.limits,
        numbers=NumberPolicy.SPREADSHEET,
        detect_duplicates=options.detect_duplicates,
        required=(KeySlot.OMS,),
        required_reason=" (every meter of a KEM file has a DEK)",
    )
    for _ in _sax(data, handler, what):
        items: list[ParsedItem] = []
        for line, dialect, found, keys in handler.done:
            cells, plan = _cells(dialect, found, keys)
            items.extend(assembler.add(line, cells, plan))
        handler.done.clear()
        yield items
    if handler.root == "EncryptedData":
        raise FatalFileError(0, "the decrypted KEM content is encrypted again")
    yield assembler.finish()


def parse_kem(stream: BinaryIO, options: ParseOptions = DEFAULT_OPTIONS) -> Iterator[ParsedItem]:
    """Parse a Kamstrup KEM/KEM2 file (ZIP or bare XML; ``options.password`` if encrypted)."""
    return guarded(_parse(stream, options))
