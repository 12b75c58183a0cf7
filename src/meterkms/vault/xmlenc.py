"""W3C XML-Encryption ``<EncryptedData>`` with a password, the way Kamstrup KEM files use it.

Kamstrup's key files (and the "Verschlüsselungsmethoden" DES/AES128/AES192/AES256 of the
manual) are XML-Enc ``<EncryptedData>`` documents whose key is not transported at all: the key
is the password's UTF-8 bytes, cut or zero-padded to the cipher's key size, the CBC IV is the
first block of that same key, the whole base64 ``CipherValue`` is ciphertext (no IV prefix, as
XML-Enc itself would have it) and there is no MAC. This module reads and writes exactly that.

It is weak on purpose, for compatibility only: no key derivation (a password guess costs one
block decryption), IV = key, no integrity. Callers offer it only as a labelled "compatible"
protection next to a modern default (see ``meterkms.keys.exports.protection``).

Decryption removes PKCS#7 padding (what :func:`encrypt_encrypted_data` writes, and also valid
XML-Enc padding) when it is present and well-formed; otherwise it strips trailing padding and
control bytes as wmbusmeters' ``utils/kem-import.py`` does for files with zero padding. Because
there is no MAC, a wrong password is recognised only by the plaintext not looking like what the
document declares (XML unless ``MimeType`` says otherwise).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as DefusedET
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from defusedxml import DefusedXmlException

XMLENC_NS = "http://www.w3.org/2001/04/xmlenc#"
TRIPLEDES_CBC = XMLENC_NS + "tripledes-cbc"
AES128_CBC = XMLENC_NS + "aes128-cbc"
AES192_CBC = XMLENC_NS + "aes192-cbc"
AES256_CBC = XMLENC_NS + "aes256-cbc"

#: ``Type`` values of XML-Enc that declare the plaintext to be XML.
_XML_TYPES = frozenset({XMLENC_NS + "Element", XMLENC_NS + "Content"})

#: Trailing bytes that kem-import.py removes: C0 controls except TAB, LF and CR, and DEL.
_TRAILING_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+\Z")

#: Plain base64 bytes per encoded piece when streaming (a multiple of 3 and of every block size).
_B64_PIECE = 48 * 1024


class XmlEncError(ValueError):
    """An XML-Enc document could not be read, decrypted or written; the message says why.

    Messages never contain the password or any decrypted byte.
    """


class WrongPasswordError(XmlEncError):
    """The plaintext is not what the document declares: almost surely a wrong password."""


@dataclass(frozen=True)
class _BlockCipher:
    """A CBC block cipher of XML-Enc with its key and block size in bytes."""

    name: str
    key_size: int
    block_size: int
    factory: Callable[[bytes], BlockCipherAlgorithm]


_CIPHERS: dict[str, _BlockCipher] = {
    TRIPLEDES_CBC: _BlockCipher("3DES", 24, 8, TripleDES),
    AES128_CBC: _BlockCipher("AES-128", 16, 16, algorithms.AES),
    AES192_CBC: _BlockCipher("AES-192", 24, 16, algorithms.AES),
    AES256_CBC: _BlockCipher("AES-256", 32, 16, algorithms.AES),
}

#: The algorithm URIs this module reads and writes.
SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(_CIPHERS)


def _cipher_for(algorithm: str) -> _BlockCipher:
    """The block cipher of ``algorithm`` or an error listing the supported URIs."""
    try:
        return _CIPHERS[algorithm]
    except KeyError:
        supported = ", ".join(SUPPORTED_ALGORITHMS)
        raise XmlEncError(
            f"unsupported XML-Enc algorithm {algorithm!r}; supported are {supported}"
        ) from None


def key_size(algorithm: str) -> int:
    """Key size in bytes of ``algorithm``: how many password bytes count."""
    return _cipher_for(algorithm).key_size


def _cbc(cipher: _BlockCipher, password: str) -> Cipher[modes.CBC]:
    """CBC with the Kamstrup key (password bytes cut/zero-padded) and IV (its first block)."""
    if not password:
        raise XmlEncError("a password is required for XML-Enc files")
    key = password.encode("utf-8")[: cipher.key_size].ljust(cipher.key_size, b"\0")
    return Cipher(cipher.factory(key), modes.CBC(key[: cipher.block_size]))


def encrypt_encrypted_data(
    plaintext: bytes, password: str, algorithm: str, *, mime_type: str | None = None
) -> bytes:
    """Encrypt ``plaintext`` into a Kamstrup-style ``<EncryptedData>`` document (UTF-8 bytes).

    ``algorithm`` is one of :data:`SUPPORTED_ALGORITHMS`. ``mime_type`` is written as the
    XML-Enc ``MimeType`` attribute; leave it out for XML plaintext (KEM files).
    """
    return b"".join(iter_encrypted_data([plaintext], password, algorithm, mime_type=mime_type))


def iter_encrypted_data(
    chunks: Iterable[bytes], password: str, algorithm: str, *, mime_type: str | None = None
) -> Iterator[bytes]:
    """Stream the ``<EncryptedData>`` document of the concatenated ``chunks``.

    Memory stays bounded by the chunk size. The document is one line, as some KEM readers
    extract the ``CipherValue`` line by line. Padding is PKCS#7, which is also valid XML-Enc
    padding (last byte = number of padding bytes).
    """
    cipher = _cipher_for(algorithm)
    encryptor = _cbc(cipher, password).encryptor()
    padder = padding.PKCS7(cipher.block_size * 8).padder()
    mime = f" MimeType={quoteattr(mime_type)}" if mime_type else ""
    head = (
        f'<?xml version="1.0" encoding="utf-8"?><EncryptedData Type="{algorithm}"{mime}'
        f' xmlns="{XMLENC_NS}"><EncryptionMethod Algorithm="{algorithm}" />'
        "<CipherData><CipherValue>"
    ).encode()
    tail = b"</CipherValue></CipherData></EncryptedData>"

    def generate() -> Iterator[bytes]:
        """The document in pieces; base64 is cut at multiples of 3 bytes."""
        yield head
        pending = b""
        for chunk in chunks:
            pending += encryptor.update(padder.update(chunk))
            if len(pending) >= _B64_PIECE:
                cut = len(pending) - len(pending) % 3
                yield base64.b64encode(pending[:cut])
                pending = pending[cut:]
        pending += encryptor.update(padder.finalize()) + encryptor.finalize()
        yield base64.b64encode(pending)
        yield tail

    return generate()


def _local(tag: str) -> str:
    """Element name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def _child(parent: Element, name: str) -> Element | None:
    """First direct child named ``name`` in the XML-Enc namespace or in none."""
    for child in parent:
        if child.tag in (f"{{{XMLENC_NS}}}{name}", name):
            return child
    return None


def _parse(xml_bytes: bytes) -> Element:
    """Parse with defusedxml (no DTDs, no entities) and check the root is EncryptedData."""
    try:
        root = DefusedET.fromstring(xml_bytes, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise XmlEncError(f"not a readable XML-Enc document: {error}") from None
    if _local(root.tag) != "EncryptedData":
        raise XmlEncError(
            f"not an XML-Enc document: the root element is <{_local(root.tag)}>, "
            "expected <EncryptedData>"
        )
    return root


def _algorithm_of(root: Element) -> str:
    """The Algorithm of EncryptionMethod, or Kamstrup's algorithm URI in ``Type`` if absent."""
    method = _child(root, "EncryptionMethod")
    algorithm = method.get("Algorithm") if method is not None else None
    if algorithm is None and root.get("Type") in _CIPHERS:
        algorithm = root.get("Type")
    if algorithm is None:
        raise XmlEncError("the XML-Enc document names no encryption algorithm")
    return algorithm


def encrypted_data_algorithm(xml_bytes: bytes) -> str:
    """The algorithm URI an ``<EncryptedData>`` document declares (no password needed)."""
    return _algorithm_of(_parse(xml_bytes))


def _cipher_value(root: Element) -> bytes:
    """The base64-decoded CipherValue (whitespace and line breaks allowed, nothing else)."""
    data = _child(root, "CipherData")
    value = _child(data, "CipherValue") if data is not None else None
    if value is None:
        if data is not None and _child(data, "CipherReference") is not None:
            raise XmlEncError("XML-Enc CipherReference (detached ciphertext) is not supported")
        raise XmlEncError("the XML-Enc document has no CipherData/CipherValue")
    try:
        return base64.b64decode("".join((value.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise XmlEncError("the CipherValue is not valid base64: the file is damaged") from None


def _unpad(padded: bytes, block_size: int) -> bytes:
    """Remove PKCS#7 padding if well-formed, else strip trailing control bytes (kem-import)."""
    count = padded[-1]
    if 1 <= count <= block_size and padded[-count:] == bytes([count]) * count:
        return padded[:-count]
    return _TRAILING_CONTROL.sub(b"", padded)


def _looks_declared(plaintext: bytes, root: Element) -> bool:
    """Whether the plaintext is what the document declares (the only wrong-password signal)."""
    mime = (root.get("MimeType") or "").lower()
    declared_xml = root.get("Type") in _XML_TYPES or "xml" in mime or not mime
    is_text = declared_xml or mime.startswith("text/") or "json" in mime
    if not is_text or not plaintext:
        return True
    try:
        text = plaintext.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not declared_xml or text.lstrip().startswith("<")


def decrypt_encrypted_data(xml_bytes: bytes, password: str, *, check_content: bool = True) -> bytes:
    """Decrypt a Kamstrup-style ``<EncryptedData>`` document and return the plaintext bytes.

    Raises :class:`XmlEncError` for an unsupported algorithm, a damaged document, or a
    plaintext that is not what the document declares (XML, or text for a text ``MimeType``),
    which without a MAC is how a wrong password shows. ``check_content=False`` skips that
    last check for callers that verify the plaintext otherwise (a manifest's SHA-256).
    """
    root = _parse(xml_bytes)
    cipher = _cipher_for(_algorithm_of(root))
    ciphertext = _cipher_value(root)
    if not ciphertext or len(ciphertext) % cipher.block_size:
        raise XmlEncError(
            f"the CipherValue holds {len(ciphertext)} bytes, not a positive multiple of the "
            f"{cipher.name} block size ({cipher.block_size}): the file is damaged"
        )
    decryptor = _cbc(cipher, password).decryptor()
    plaintext = _unpad(decryptor.update(ciphertext) + decryptor.finalize(), cipher.block_size)
    if check_content and not _looks_declared(plaintext, root):
        raise WrongPasswordError(
            f"wrong password: the {cipher.name} decryption does not give readable "
            "content (XML-Enc files carry no MAC, so the password cannot be checked otherwise)"
        )
    return plaintext
