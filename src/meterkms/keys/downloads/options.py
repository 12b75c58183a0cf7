"""What a download asks for: format, protection, CSV preferences, and the secret to protect with.

:func:`check` refuses a request that could not be delivered before anything is looked up,
sealed or recorded, with messages that name the field (never the secret).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from meterkms.core.errors import DomainError
from meterkms.keys.exports.formats import CONTENT_TYPES, WRITERS
from meterkms.keys.exports.formats.cells import THOUSANDS_SEPARATORS
from meterkms.keys.exports.formats.csv_writer import DELIMITERS
from meterkms.keys.exports.protection import (
    DEFAULT_PROTECTION,
    XMLENC_ALGORITHMS,
    ContainerError,
    Protection,
)
from meterkms.vault import xmlenc
from meterkms.vault.containers import public_key_fingerprint

#: Every export format, in the order the download form offers them.
FORMATS: tuple[str, ...] = (
    "csv",
    "xlsx",
    "json",
    "tts-csv",
    "tts-json",
    "chirpstack",
    "wmbusmeters",
    "keylist",
)
FORMAT_LABELS = {
    "csv": gettext_lazy("CSV (your column delimiter)"),
    "xlsx": gettext_lazy("Excel workbook (XLSX, text cells)"),
    "json": gettext_lazy("JSON"),
    "tts-csv": gettext_lazy("The Things Stack CSV"),
    "tts-json": gettext_lazy("The Things Stack JSON"),
    "chirpstack": gettext_lazy("ChirpStack v4 (JSON)"),
    "wmbusmeters": gettext_lazy("wmbusmeters meter files"),
    "keylist": gettext_lazy("MAN;SERIAL;KEY list"),
}
PROTECTION_LABELS = {
    Protection.PASSWORD: gettext_lazy("Password: Argon2id + AES-256-GCM (recommended)"),
    Protection.RECIPIENT: gettext_lazy(
        "Recipient public key: RSA-OAEP + AES key wrap (for an HSM or cloud KMS)"
    ),
    Protection.XMLENC_AES256: gettext_lazy("Compatible, WEAK: XML-Encryption AES256 (KEM file)"),
    Protection.XMLENC_AES192: gettext_lazy("Compatible, WEAK: XML-Encryption AES192 (KEM file)"),
    Protection.XMLENC_AES128: gettext_lazy("Compatible, WEAK: XML-Encryption AES128 (KEM file)"),
    Protection.XMLENC_3DES: gettext_lazy("Compatible, WEAK: XML-Encryption DES (3DES, KEM file)"),
    Protection.NONE: gettext_lazy("None: plain ZIP (keys readable by anyone with the file)"),
}
_EXTENSIONS = {
    "csv": ("", "csv"),
    "xlsx": ("", "xlsx"),
    "json": ("", "json"),
    "tts-csv": ("-tts", "csv"),
    "tts-json": ("-tts", "json"),
    "chirpstack": ("-chirpstack", "json"),
    "wmbusmeters": ("-wmbusmeters", "txt"),
    "keylist": ("-keylist", "txt"),
}
#: Shortest password accepted for a protected file (the manual's password length).
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
MAX_PUBLIC_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class DownloadOptions:
    """Format, protection and the CSV preferences of one download (nothing secret)."""

    format: str = "csv"
    protection: Protection = DEFAULT_PROTECTION
    delimiter: str = ";"
    thousands: str = ""

    def writer_options(self) -> dict[str, Any]:
        """Keyword options of the format's writer."""
        if self.format == "csv":
            return {"delimiter": self.delimiter, "thousands": self.thousands}
        return {}

    def as_json(self) -> dict[str, str]:
        """What the download row keeps."""
        return {
            "format": self.format,
            "protection": self.protection.value,
            "delimiter": self.delimiter,
            "thousands": self.thousands,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadOptions:
        """The options a download row kept."""
        return cls(
            format=str(data["format"]),
            protection=Protection(data["protection"]),
            delimiter=str(data.get("delimiter", ";")),
            thousands=str(data.get("thousands", "")),
        )

    @property
    def content_type(self) -> str:
        """The payload's media type (the manifest names it)."""
        return CONTENT_TYPES[self.format]

    def payload_name(self, moment: datetime) -> str:
        """The file name inside the export (listed in the manifest), e.g. ``keys-…-tts.csv``."""
        infix, extension = _EXTENSIONS[self.format]
        return f"keys-{moment:%Y%m%d-%H%M%S}{infix}.{extension}"

    def file_name(self, moment: datetime) -> str:
        """The name of the downloaded file, e.g. ``keys-20261127-101530.csv.mkms``."""
        return self.payload_name(moment) + self.protection.file_suffix


@dataclass(frozen=True, repr=False)
class Secret:
    """What protects the file: a password, or a recipient's public key (PEM). Never stored
    in clear and never shown in ``repr``."""

    password: str | None = None
    recipient_public_key: bytes | None = field(default=None)

    def __repr__(self) -> str:
        return "Secret(<hidden>)"


def _invalid(field_name: str, message: str) -> DomainError:
    return DomainError("invalid", message, details=[{"field": field_name, "message": message}])


def _check_password(protection: Protection, password: str | None) -> None:
    if not password:
        raise _invalid("password", _("This protection needs a password."))
    if len(password) < MIN_PASSWORD_CHARS:
        raise _invalid(
            "password",
            _("The password needs at least %(n)d characters.") % {"n": MIN_PASSWORD_CHARS},
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise _invalid("password", _("The password is too long."))
    if protection.weak:
        size = xmlenc.key_size(XMLENC_ALGORITHMS[protection])
        if len(password.encode("utf-8")) > size:
            raise _invalid(
                "password",
                _(
                    "This compatible method uses at most %(n)d bytes of the password; choose "
                    "a shorter one or the password method, which has no such limit."
                )
                % {"n": size},
            )


def check(options: DownloadOptions, secret: Secret) -> str:
    """Refuse options that cannot be delivered; returns the recipient key's SHA-256 (or "")."""
    if options.format not in WRITERS:
        raise _invalid("format", _("Unknown format."))
    if options.delimiter not in DELIMITERS:
        raise _invalid("delimiter", _("Unknown column delimiter."))
    if options.thousands not in THOUSANDS_SEPARATORS:
        raise _invalid("thousands", _("Unknown thousands separator."))
    protection = options.protection
    if protection == Protection.PASSWORD or protection.weak:
        _check_password(protection, secret.password)
    if protection == Protection.RECIPIENT:
        pem = secret.recipient_public_key or b""
        if not pem:
            raise _invalid("recipient_public_key", _("Give the recipient's public key (PEM)."))
        if len(pem) > MAX_PUBLIC_KEY_BYTES:
            raise _invalid("recipient_public_key", _("The public key file is too large."))
        try:
            return public_key_fingerprint(pem)
        except ContainerError:
            raise _invalid(
                "recipient_public_key",
                _(
                    "The recipient key must be an RSA public key or certificate (PEM), 2048 bits "
                    "or more."
                ),
            ) from None
    return ""


def parse_protection(value: str) -> Protection:
    """A protection by name, as a field error when unknown."""
    try:
        return Protection(value)
    except ValueError:
        raise _invalid("protection", _("Unknown protection method.")) from None
