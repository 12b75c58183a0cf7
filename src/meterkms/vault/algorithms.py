"""Cipher algorithms a stored device key can belong to, and their exact key lengths.

Plain Python (no Django): the vault sits on the ground floor and imports no app.
"""

from enum import StrEnum


class Algorithm(StrEnum):
    """Algorithm of a device key; the value is what files and the API show."""

    DES = "DES"
    TDES = "3DES"
    AES128 = "AES128"
    AES192 = "AES192"
    AES256 = "AES256"


#: Allowed key lengths in bytes per algorithm. 3DES comes as 2-key (16) or 3-key (24).
KEY_LENGTHS: dict[Algorithm, tuple[int, ...]] = {
    Algorithm.DES: (8,),
    Algorithm.TDES: (16, 24),
    Algorithm.AES128: (16,),
    Algorithm.AES192: (24,),
    Algorithm.AES256: (32,),
}

#: Block size in bytes, used for the key check value (encrypt one zero block).
BLOCK_SIZES: dict[Algorithm, int] = {
    Algorithm.DES: 8,
    Algorithm.TDES: 8,
    Algorithm.AES128: 16,
    Algorithm.AES192: 16,
    Algorithm.AES256: 16,
}
