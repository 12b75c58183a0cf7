"""Data keys (DEKs): the persisted record of a wrapped DEK and the unwrapped, usable DEK.

A DEK is a random AES-256 key owned by a *scope*, a string chosen by the caller (the
registering organisation: ``org:<uuid>``), so that each tenant's device keys are sealed under
its own DEKs. It is stored only wrapped by the master key, with the wrap bound to the context
``{"purpose": "meterkms-data-key", "data_key_id": <uuid>, "scope": <scope>}``: editing the
scope or id of a stored record makes its unwrap fail.

Each scope has at most one *active* DEK, used for new seals, and any number of *retired*
ones, still used to open what they sealed. A DEK is retired when its nonce budget is spent or
when an operator rotates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkms.vault.blob import make_header
from meterkms.vault.providers.base import DATA_KEY_BYTES, WrappedKey

DATA_KEY_PURPOSE = "meterkms-data-key"


class DataKeyState(StrEnum):
    """Life of a data key: only the active one of a scope seals new values."""

    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class DataKeyRecord:
    """What the store keeps about one DEK; never the DEK itself in clear.

    ``encryptions`` is the number of encryptions reserved against the DEK's nonce budget so
    far (an upper bound of the encryptions actually made).
    """

    id: UUID
    scope: str
    wrapped: WrappedKey
    state: DataKeyState = DataKeyState.ACTIVE
    encryptions: int = 0

    @property
    def master_key_version(self) -> str:
        """Version of the master key that wrapped this DEK."""
        return self.wrapped.master_key_version


def data_key_context(dek_id: UUID, scope: str) -> dict[str, str]:
    """The wrap context that binds a wrapped DEK to its id and scope."""
    return {"purpose": DATA_KEY_PURPOSE, "data_key_id": str(dek_id), "scope": scope}


class DataKey:
    """An unwrapped DEK, ready to seal and open values; lives only in memory.

    The key bytes are handed to the AES-GCM object at construction and not kept as an
    attribute; ``repr()`` shows the id and scope only. ``encrypt``/``decrypt`` are the bound
    methods of that object, kept as attributes so the hot loops avoid an attribute lookup.
    """

    __slots__ = ("aad_prefix", "decrypt", "encrypt", "header", "id", "scope")

    def __init__(self, dek_id: UUID, scope: str, plaintext: bytes) -> None:
        if len(plaintext) != DATA_KEY_BYTES:
            raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes")
        aead = AESGCM(plaintext)
        self.id = dek_id
        self.scope = scope
        self.header = make_header(dek_id)
        self.aad_prefix = self.header.hex()
        self.encrypt = aead.encrypt
        self.decrypt = aead.decrypt

    def __repr__(self) -> str:
        return f"DataKey(id={self.id}, scope={self.scope!r})"
