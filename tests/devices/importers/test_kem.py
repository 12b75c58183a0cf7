import importlib.util
import io
import zipfile

import pytest

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import parse_kem
from tests.devices.importers.parsing import errors, fatal, random_key, records, run

KEY1, KEY2 = random_key(), random_key()

KEM = f"""<?xml version="1.0" encoding="utf-8"?>
<MetersInOrder xmlns="urn:kamstrup">
  <Meter>
    <MeterName>MC21</MeterName><ConsumptionType>Water</ConsumptionType><MeterNo>7</MeterNo>
    <SerialNo>12345678</SerialNo><VendorId>KAM</VendorId><ConfigNo>1</ConfigNo>
    <TypeNo>021</TypeNo><DEK>{KEY1}</DEK>
  </Meter>
  <Meter>
    <MeterName>MC21</MeterName><SerialNo>12345679</SerialNo><VendorId>11309</VendorId>
    <DEK>{KEY2[:-1]}G</DEK>
  </Meter>
</MetersInOrder>""".encode()

KEM2 = f"""<Devices>
  <Device>
    <ShortName>MC403</ShortName><ConsumptionTypeName>Heat</ConsumptionTypeName>
    <CustomerDeviceNumber>1</CustomerDeviceNumber><SerialNumber>87654321</SerialNumber>
    <ManufacturerId>KAM</ManufacturerId><ConfigNumber>1</ConfigNumber><TypeNumber>403</TypeNumber>
    <Keys><Key><Name>DEK</Name><Value>{KEY2}</Value></Key></Keys>
  </Device>
</Devices>""".encode()


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
        archive.writestr("KemSchema.xsd", b"<xs:schema/>")
    return out.getvalue()


def test_kem_meters_become_records_with_their_dek():
    items = run(parse_kem, KEM + b"\x00\x00\x03")  # trailing padding as decryption leaves it
    [record] = records(items)
    assert (record.line, record.serial, record.meter_address) == (3, "12345678", "12345678")
    assert (record.device_type, record.manufacturer) == ("MC21", "KAM")
    assert record.keys[KeySlot.OMS].hex == KEY1
    [problem] = errors(items)
    assert (problem.line, problem.field) == (8, "DEK")
    assert KEY2[:8] not in str(problem)


def test_kem2_devices_in_a_zip_take_the_dek_value():
    [record] = records(run(parse_kem, _zip("0123456789abcdef0123456789abcdef.kem2", KEM2)))
    assert (record.serial, record.device_type) == ("87654321", "MC403")
    assert record.keys[KeySlot.OMS].hex == KEY2


def test_encrypted_kem_without_password_asks_for_it():
    data = b'<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><CipherData><CipherValue>AA==</CipherValue></CipherData></EncryptedData>'
    [stop] = fatal(run(parse_kem, data))
    assert "password" in stop.message


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE m [<!ENTITY x "y">]><MetersInOrder>&x;</MetersInOrder>',
        b'<!DOCTYPE m SYSTEM "http://example.invalid/x.dtd"><MetersInOrder/>',
        b"<MetersInOrder><Meter>",
        b"<Other/>",
    ],
)
def test_dtds_entities_broken_and_foreign_xml_stop_cleanly(data):
    assert fatal(run(parse_kem, data))


def test_archive_without_exactly_one_kem_member_is_refused():
    [stop] = fatal(run(parse_kem, _zip("readme.txt", b"hi")))
    assert ".kem" in stop.message


XMLENC_AVAILABLE = importlib.util.find_spec("meterkms.vault.xmlenc") is not None

# A KEM2 document encrypted as Kamstrup does it (AES-128-CBC, key = IV = the password's UTF-8
# bytes zero-padded to 16), computed once with an independent AES implementation.
KEM_PASSWORD = "Kamstrup-Test1"
KEM_DEK = "5A6B7C8D9E0F11223344556677889900"
KEM_CIPHER_VALUE = (
    "JgXpHxpvMwtFFYU0MS9hqZEV6sj+6GLEGHDgM1+Z9n5taI/CGksMOwlg8ZYfIuJAP9KQ34twGsu/tljcuWrFgegR"
    "noqe7yuPWYoEhv77iana76LvHS5fGg1ry/ljEJ92X1H7OPEtJ2Rv88kNUe6U2FKYcOTpSpMEnwqb4ydzkX+nEKh6"
    "2aRCFalX1lfLk6yydqf3jldYzQM5sU1M/1zud/d/QsHdBvrYpvyfYMkg6vfhkvSlb6IcCYyXtG55YNzFb+pXsUZR"
    "wD5brPSVUnyj/K62hGTtrrSB8CNQUp8jh4U="
)
ENCRYPTED_KEM = (
    '<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#" '
    'Type="http://www.w3.org/2001/04/xmlenc#Content">'
    '<EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
    f"<CipherData><CipherValue>{KEM_CIPHER_VALUE}</CipherValue></CipherData></EncryptedData>"
).encode()


@pytest.mark.skipif(
    not XMLENC_AVAILABLE,
    reason="meterkms.vault.xmlenc (KEM decryption) is not in this tree yet",
)
def test_encrypted_kem_zip_decrypts_with_the_password_and_not_without_it():
    data = _zip("0123456789abcdef0123456789abcdef.kem", ENCRYPTED_KEM)
    [record] = records(run(parse_kem, data, password=KEM_PASSWORD))
    assert (record.serial, record.device_type) == ("87654321", "MC403")
    assert record.keys[KeySlot.OMS].hex == KEM_DEK
    [stop] = fatal(run(parse_kem, data, password="wrong password"))
    assert KEM_PASSWORD not in stop.message
    assert KEM_DEK[:8] not in stop.message


def test_encrypted_kem_without_the_decryption_module_says_so(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "meterkms.vault.xmlenc", None)  # import fails
    [stop] = fatal(run(parse_kem, ENCRYPTED_KEM, password=KEM_PASSWORD))
    assert "not available" in stop.message
