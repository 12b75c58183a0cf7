"""Enumerations of the device domain, shared by models, importers, exports and proofs.

Plain Python so that parsers and format writers can use them without Django.
"""

from enum import StrEnum

from meterkms.vault.algorithms import Algorithm


class Technology(StrEnum):
    """Radio or wire technology of a device type."""

    LORAWAN = "LoRaWAN"
    WMBUS = "wM-Bus"
    MBUS = "M-Bus"


class ClaimStatus(StrEnum):
    """Claim status of a device (manual §10.3, "Annahmestatus")."""

    UNCLAIMED = "UNCLAIMED"
    PENDING = "PENDING"
    CLAIMED = "CLAIMED"


class KeySlot(StrEnum):
    """The role a key plays for its device; one device has at most one live key per slot."""

    LORAWAN_APPKEY = "AppKey"
    LORAWAN_NWKKEY = "NwkKey"
    LORAWAN_APPSKEY = "AppSKey"
    LORAWAN_NWKSKEY = "NwkSKey"
    LORAWAN_FNWKSINTKEY = "FNwkSIntKey"
    LORAWAN_SNWKSINTKEY = "SNwkSIntKey"
    LORAWAN_NWKSENCKEY = "NwkSEncKey"
    OMS = "OMS"  # wM-Bus / OMS key for TPL security modes 5 and 7
    MBUS = "MBUS"  # wired M-Bus key (EN 13757-3 TPL security)
    DES = "DES"  # legacy wM-Bus DES key (security modes 2/3)


#: Which algorithms each slot may hold. LoRaWAN keys are always AES-128.
SLOT_ALGORITHMS: dict[KeySlot, tuple[Algorithm, ...]] = {
    **{slot: (Algorithm.AES128,) for slot in KeySlot if slot.name.startswith("LORAWAN_")},
    KeySlot.OMS: (Algorithm.AES128,),
    KeySlot.MBUS: (Algorithm.AES128, Algorithm.AES192, Algorithm.AES256),
    KeySlot.DES: (Algorithm.DES, Algorithm.TDES),
}

#: The algorithm a slot gets when a file gives none.
DEFAULT_ALGORITHM: dict[KeySlot, Algorithm] = {
    slot: algorithms[0] for slot, algorithms in SLOT_ALGORITHMS.items()
}
