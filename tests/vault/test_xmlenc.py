"""Tests of the Kamstrup-style XML-Enc reader and writer against independent computations."""

import base64
import re
from xml.dom import minidom

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.xmlenc import (
    AES128_CBC,
    AES192_CBC,
    AES256_CBC,
    SUPPORTED_ALGORITHMS,
    TRIPLEDES_CBC,
    XmlEncError,
    decrypt_encrypted_data,
    encrypt_encrypted_data,
    encrypted_data_algorithm,
    iter_encrypted_data,
)

#: algorithm URI -> (cipher factory, key size, block size), written out here independently.
RAW = {
    TRIPLEDES_CBC: (TripleDES, 24, 8),
    AES128_CBC: (algorithms.AES, 16, 16),
    AES192_CBC: (algorithms.AES, 24, 16),
    AES256_CBC: (algorithms.AES, 32, 16),
}

KEM_PLAINTEXT = (
    b'<?xml version="1.0" encoding="utf-8"?>\r\n'
    b'<MetersInOrder xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<Meter><MeterName>MC21</MeterName><ConsumptionType>Water</ConsumptionType>"
    b"<MeterNo>W-0001</MeterNo><SerialNo>61070071</SerialNo><VendorId>KAM</VendorId>"
    b"<ConfigNo>1234567</ConfigNo><TypeNo>021-AB-C1</TypeNo>"
    b"<DEK>A004EB23329A477F1DD2D7820B56EB3D</DEK></Meter>"
    b"<Meter><MeterName>MC403</MeterName><ConsumptionType>Heat</ConsumptionType>"
    b"<MeterNo>H-0002</MeterNo><SerialNo>61070072</SerialNo><VendorId>KAM</VendorId>"
    b"<ConfigNo>7654321</ConfigNo><TypeNo>403-T-10</TypeNo>"
    b"<DEK>28F64A24988064A079AA2C807D6102AE</DEK></Meter>"
    b"</MetersInOrder>"
)

KEM2_PLAINTEXT = (
    "<Devices><Device><ShortName>MC21</ShortName><ConsumptionTypeName>Water"
    "</ConsumptionTypeName><CustomerDeviceNumber>Kunde 17 ä</CustomerDeviceNumber>"
    "<SerialNumber>61070073</SerialNumber><ManufacturerId>KAM</ManufacturerId>"
    "<ConfigNumber>1</ConfigNumber><TypeNumber>021</TypeNumber>"
    "<Keys><Key><Name>DEK</Name><Value>000102030405060708090A0B0C0D0E0F</Value></Key></Keys>"
    "</Device></Devices>"
).encode()


def raw_key(password: str, algorithm: str) -> bytes:
    """The key as wmbusmeters' kem-import.py builds it: UTF-8 bytes, zero-padded (or cut)."""
    _, key_size, _ = RAW[algorithm]
    key = password.encode("utf-8")
    key += b"\0" * (key_size - len(key))
    return key[:key_size]


def raw_cbc(password: str, algorithm: str) -> Cipher:
    """Independent CBC with key = IV source, as in the Kamstrup files."""
    factory, _, block = RAW[algorithm]
    key = raw_key(password, algorithm)
    return Cipher(factory(key), modes.CBC(key[:block]))


def kamstrup_document(ciphertext: bytes, algorithm: str = AES128_CBC) -> bytes:
    """An EncryptedData shaped like the one in Kamstrup's "How to decrypt a KEM file" guide.

    Base64 broken into CRLF lines and Type carrying the algorithm URI, as in that guide.
    """
    b64 = base64.b64encode(ciphertext).decode()
    lines = "\r\n".join(b64[i : i + 65] for i in range(0, len(b64), 65))
    return (
        '<?xml version="1.0" encoding="utf-8"?><EncryptedData '
        f'Type="{algorithm}" xmlns="http://www.w3.org/2001/04/xmlenc#">\r\n'
        f'<EncryptionMethod Algorithm="{algorithm}" />\r\n<CipherData>\r\n<CipherValue>\r\n'
        f"{lines}\r\n</CipherValue>\r\n</CipherData>\r\n</EncryptedData>"
    ).encode()


def zero_padded_encrypt(plaintext: bytes, password: str, algorithm: str = AES128_CBC) -> bytes:
    _, _, block = RAW[algorithm]
    padded = plaintext + b"\0" * (-len(plaintext) % block)
    encryptor = raw_cbc(password, algorithm).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def pkcs7_encrypt(plaintext: bytes, password: str, algorithm: str = AES128_CBC) -> bytes:
    _, _, block = RAW[algorithm]
    padder = padding.PKCS7(block * 8).padder()
    encryptor = raw_cbc(password, algorithm).encryptor()
    return encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()


def test_kamstrup_shaped_kem_with_zero_padding_decrypts_to_the_meter_list():
    document = kamstrup_document(zero_padded_encrypt(KEM_PLAINTEXT, "CUSTOMER4711"))
    assert decrypt_encrypted_data(document, "CUSTOMER4711") == KEM_PLAINTEXT


def test_kamstrup_shaped_kem2_with_pkcs7_padding_decrypts_exactly():
    document = kamstrup_document(pkcs7_encrypt(KEM2_PLAINTEXT, "Ünïcode-Pass"))
    assert decrypt_encrypted_data(document, "Ünïcode-Pass") == KEM2_PLAINTEXT


def test_kem_plaintext_that_fills_whole_blocks_without_padding_is_returned_unchanged():
    plaintext = b"<MetersInOrder/>" * 3  # 48 bytes: three full blocks, nothing to strip
    assert len(plaintext) % 16 == 0
    document = kamstrup_document(zero_padded_encrypt(plaintext, "pw"))
    assert decrypt_encrypted_data(document, "pw") == plaintext


def test_trailing_control_bytes_are_stripped_but_trailing_newlines_kept():
    plaintext = b"<MetersInOrder></MetersInOrder>\r\n"
    padded = plaintext + b"\x1a\x00\x07" + b"\0" * (-(len(plaintext) + 3) % 16)
    encryptor = raw_cbc("pw", AES128_CBC).encryptor()
    document = kamstrup_document(encryptor.update(padded) + encryptor.finalize())
    assert decrypt_encrypted_data(document, "pw") == plaintext


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_written_document_decrypts_with_the_raw_cipher_and_pkcs7(algorithm):
    document = encrypt_encrypted_data(KEM_PLAINTEXT, "Secret-Passw0rd!", algorithm)
    root = minidom.parseString(document).documentElement
    method = root.getElementsByTagName("EncryptionMethod")[0].getAttribute("Algorithm")
    cipher_value = root.getElementsByTagName("CipherValue")[0].firstChild.nodeValue
    decryptor = raw_cbc("Secret-Passw0rd!", algorithm).decryptor()
    padded = decryptor.update(base64.b64decode(cipher_value)) + decryptor.finalize()
    unpadder = padding.PKCS7(RAW[algorithm][2] * 8).unpadder()
    assert method == algorithm
    assert root.getAttribute("xmlns") == "http://www.w3.org/2001/04/xmlenc#"
    assert unpadder.update(padded) + unpadder.finalize() == KEM_PLAINTEXT


def test_written_aes128_document_opens_the_way_wmbusmeters_kem_import_reads_it():
    document = encrypt_encrypted_data(KEM_PLAINTEXT, "CUSTOMER4711", AES128_CBC)
    b64 = minidom.parseString(document).getElementsByTagName("CipherValue")[0].firstChild
    key = b"CUSTOMER4711" + b"\0" * 4
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key)).decryptor()
    plain = decryptor.update(base64.b64decode(b64.nodeValue)) + decryptor.finalize()
    trimmed = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]", "", plain.decode("utf-8"))
    meters = minidom.parseString(trimmed).getElementsByTagName("Meter")
    assert [m.getElementsByTagName("DEK")[0].firstChild.nodeValue for m in meters] == [
        "A004EB23329A477F1DD2D7820B56EB3D",
        "28F64A24988064A079AA2C807D6102AE",
    ]


def test_written_document_is_one_line_so_line_based_extractors_find_the_cipher_value():
    document = encrypt_encrypted_data(KEM_PLAINTEXT * 50, "pw", AES256_CBC)
    assert b"\n" not in document
    match = re.search(rb"<CipherValue>(.*)</CipherValue>", document)
    assert match is not None
    assert len(base64.b64decode(match.group(1))) % 16 == 0


@settings(max_examples=150, deadline=None)
@given(
    plaintext=st.binary(max_size=300),
    password=st.text(min_size=1, max_size=40),
    algorithm=st.sampled_from(SUPPORTED_ALGORITHMS),
)
def test_any_binary_plaintext_round_trips_byte_for_byte(plaintext, password, algorithm):
    document = encrypt_encrypted_data(
        plaintext, password, algorithm, mime_type="application/octet-stream"
    )
    assert decrypt_encrypted_data(document, password) == plaintext


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=70_000), max_size=4),
    algorithm=st.sampled_from(SUPPORTED_ALGORITHMS),
)
def test_streamed_document_equals_the_one_shot_document(sizes, algorithm):
    chunks = [bytes([i % 251]) * size for i, size in enumerate(sizes)]
    streamed = b"".join(iter_encrypted_data(chunks, "pw", algorithm, mime_type="text/csv"))
    assert streamed == encrypt_encrypted_data(
        b"".join(chunks), "pw", algorithm, mime_type="text/csv"
    )
    assert decrypt_encrypted_data(streamed, "pw") == b"".join(chunks)


@settings(max_examples=150, deadline=None)
@given(
    right=st.text(min_size=1, max_size=20),
    wrong=st.text(min_size=1, max_size=20),
    algorithm=st.sampled_from(SUPPORTED_ALGORITHMS),
)
def test_wrong_password_on_xml_content_is_reported_without_echoing_it(right, wrong, algorithm):
    right, wrong = "§r" + right, "§w" + wrong  # markers that cannot occur in a message by chance
    if raw_key(right, algorithm) == raw_key(wrong, algorithm):
        return  # the same key: indistinguishable by construction (cut/zero-pad)
    document = encrypt_encrypted_data(KEM_PLAINTEXT, right, algorithm)
    with pytest.raises(XmlEncError, match="wrong password") as caught:
        decrypt_encrypted_data(document, wrong)
    assert wrong not in str(caught.value)
    assert right not in str(caught.value)


def test_wrong_password_on_a_text_mime_type_is_reported():
    document = encrypt_encrypted_data(
        b"serial;key\n1;00\n" * 20, "right", AES128_CBC, mime_type="text/csv"
    )
    with pytest.raises(XmlEncError, match="wrong password"):
        decrypt_encrypted_data(document, "wrong")


def test_wrong_password_on_binary_content_cannot_be_detected_without_a_mac():
    plaintext = bytes(range(256))
    document = encrypt_encrypted_data(
        plaintext, "right", AES128_CBC, mime_type="application/octet-stream"
    )
    assert decrypt_encrypted_data(document, "wrong") != plaintext


def test_password_longer_than_the_key_is_cut_like_the_kamstrup_tool():
    document = encrypt_encrypted_data(KEM_PLAINTEXT, "0123456789abcdef", AES128_CBC)
    assert decrypt_encrypted_data(document, "0123456789abcdef-ignored") == KEM_PLAINTEXT


def test_empty_password_is_refused():
    with pytest.raises(XmlEncError, match="password is required"):
        encrypt_encrypted_data(b"<a/>", "", AES128_CBC)


def test_unsupported_algorithm_is_named_in_the_error():
    with pytest.raises(XmlEncError, match="kw-aes128"):
        encrypt_encrypted_data(b"<a/>", "pw", "http://www.w3.org/2001/04/xmlenc#kw-aes128")
    document = encrypt_encrypted_data(b"<a/>", "pw", AES128_CBC).replace(
        b"#aes128-cbc", b"#aes128-gcm"
    )
    with pytest.raises(XmlEncError, match="aes128-gcm"):
        decrypt_encrypted_data(document, "pw")


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_declared_algorithm_is_read_without_the_password(algorithm):
    assert encrypted_data_algorithm(encrypt_encrypted_data(b"<a/>", "pw", algorithm)) == algorithm


def test_algorithm_in_type_is_used_when_encryption_method_is_missing():
    document = re.sub(
        rb"<EncryptionMethod [^>]*/>", b"", encrypt_encrypted_data(b"<a/>", "pw", AES192_CBC)
    )
    assert b"EncryptionMethod" not in document
    assert decrypt_encrypted_data(document, "pw") == b"<a/>"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"not xml at all", "not a readable XML-Enc document"),
        (b"<MetersInOrder/>", "root element is <MetersInOrder>"),
        (
            b'<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><CipherData>'
            b"<CipherValue>AAAA</CipherValue></CipherData></EncryptedData>",
            "names no encryption algorithm",
        ),
        (
            kamstrup_document(b"")
            .replace(b"<CipherValue>", b"<X>")
            .replace(b"</CipherValue>", b"</X>"),
            "no CipherData/CipherValue",
        ),
        (kamstrup_document(b"\x01" * 16).replace(b"AQEB", b"A*EB"), "not valid base64"),
        (kamstrup_document(b"\x01" * 17), "17 bytes, not a positive multiple"),
        (kamstrup_document(b""), "0 bytes, not a positive multiple"),
    ],
)
def test_damaged_documents_give_a_clear_error(document, message):
    with pytest.raises(XmlEncError, match=message):
        decrypt_encrypted_data(document, "pw")


def test_detached_cipher_reference_is_refused():
    document = (
        '<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#">'
        f'<EncryptionMethod Algorithm="{AES128_CBC}"/><CipherData>'
        '<CipherReference URI="http://example.invalid/x"/></CipherData></EncryptedData>'
    ).encode()
    with pytest.raises(XmlEncError, match="CipherReference"):
        decrypt_encrypted_data(document, "pw")


def test_entity_expansion_and_dtds_are_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#">&b;</EncryptedData>'
    )
    with pytest.raises(XmlEncError, match="not a readable XML-Enc document"):
        decrypt_encrypted_data(bomb, "pw")
