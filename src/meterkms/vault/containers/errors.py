"""Errors of the export containers, split by what the person opening a file can do about it.

Messages name the problem and, where it helps, the device and slot; they never contain a
password, a key or decrypted content.
"""


class ContainerError(ValueError):
    """A protected export file could not be written or opened."""


class UnsupportedFileError(ContainerError):
    """The bytes are not an export container of a kind and version this code knows."""


class SecretRequiredError(ContainerError):
    """The file needs a password or a private key that was not given."""


class WrongSecretError(ContainerError):
    """The password or private key does not open the file."""


class DamagedFileError(ContainerError):
    """The file was altered, truncated, reordered or damaged; nothing of it is trusted."""
