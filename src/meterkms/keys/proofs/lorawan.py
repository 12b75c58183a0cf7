"""LoRaWAN join messages as key evidence: join request (MIC) and join accept (MIC).

A PHYPayload starts with MHDR (message type in the top 3 bits, major version in the low 2).
Join request: MHDR 00, JoinEUI (8, LSB first), DevEUI (8, LSB first), DevNonce (2), MIC (4).
Join accept: MHDR 20, then 16 or 32 bytes that the device recovers with an AES *encrypt*.
The join accept carries no device address, so a capture pairs it with the join request
before it (the one it answers); without that request the device cannot be looked up.
Other message types cannot prove a root key and are reported as "cannot tell".
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkms.devices.enums import Technology

from .model import AddressSource, DeviceAddress, FrameError, MeterAddress, Scheme

JOIN_REQUEST_LENGTH = 23
JOIN_ACCEPT_LENGTHS = (17, 33)
REJOIN_LENGTHS = (19, 24)

_OTHER_TYPES = {
    2: "an unconfirmed data uplink",
    3: "an unconfirmed data downlink",
    4: "a confirmed data uplink",
    5: "a confirmed data downlink",
    6: "a rejoin request",
    7: "a proprietary message",
}


@dataclass(slots=True)
class LoRaWANMessage:
    """A parsed LoRaWAN PHYPayload with what a root-key check needs.

    ``request`` is, for a join accept, the join request of the same capture it answers.
    """

    line: int
    frame: bytes
    mhdr: int
    scheme: Scheme
    cannot_tell: str
    join_eui: str | None
    dev_eui: str | None
    request: LoRaWANMessage | None = None

    technology = Technology.LORAWAN
    link_address: MeterAddress | None = None
    tpl_address: MeterAddress | None = None
    iv_source: AddressSource | None = None

    @property
    def address(self) -> DeviceAddress | None:
        """The DevEUI to look the device up by (a join accept: that of its request)."""
        dev_eui = self.dev_eui if self.request is None else self.request.dev_eui
        if dev_eui is None:
            return None
        return DeviceAddress(Technology.LORAWAN, "", dev_eui)

    @property
    def lookup_addresses(self) -> tuple[DeviceAddress, ...]:
        """The addresses a key may be stored under (the DevEUI, when known)."""
        address = self.address
        return () if address is None else (address,)


def eui(data: bytes) -> str:
    """An EUI sent least significant byte first, shown most significant first."""
    return data[::-1].hex().upper()


def parse_lorawan(
    frame: bytes, *, line: int = 0, request: LoRaWANMessage | None = None
) -> LoRaWANMessage:
    """Parse a LoRaWAN PHYPayload; ``request`` is the latest join request before it.

    Raises :class:`FrameError` for a join message of the wrong length or an unknown major
    version.
    """
    if not frame:
        raise FrameError("empty LoRaWAN message")
    mhdr = frame[0]
    if mhdr & 0x03:
        raise FrameError(f"LoRaWAN MHDR {mhdr:02X}: unknown major version {mhdr & 3}")
    mtype = mhdr >> 5
    if mtype == 0:
        if len(frame) != JOIN_REQUEST_LENGTH:
            raise FrameError(f"a LoRaWAN join request has 23 bytes, got {len(frame)}")
        return LoRaWANMessage(
            line, frame, mhdr, Scheme.JOIN_REQUEST, "", eui(frame[1:9]), eui(frame[9:17])
        )
    if mtype == 1:
        if len(frame) not in JOIN_ACCEPT_LENGTHS:
            raise FrameError(f"a LoRaWAN join accept has 17 or 33 bytes, got {len(frame)}")
        if request is None:
            reason = (
                "a join accept names no device: put the join request it answers on a line before it"
            )
            return LoRaWANMessage(line, frame, mhdr, Scheme.NONE, reason, None, None)
        return LoRaWANMessage(
            line, frame, mhdr, Scheme.JOIN_ACCEPT, "", request.join_eui, None, request
        )
    reason = f"{_OTHER_TYPES[mtype]} cannot prove a root key: capture a join request"
    return LoRaWANMessage(line, frame, mhdr, Scheme.NONE, reason, None, None)


def looks_like_lorawan(data: bytes) -> bool:
    """True when a frame is a LoRaWAN join message rather than a wM-Bus frame.

    The lengths decide, since a wM-Bus frame is L + 1 bytes (plus CRCs) long: MHDR 00 with
    23 bytes (wM-Bus L = 0 does not exist), MHDR 20 with 17 bytes, MHDR C0 with 19 or 24.
    A 33-byte frame starting with 20 fits both; it is wM-Bus only when its C field and CI
    field are ones that wM-Bus meters send.
    """
    size = len(data)
    if not size:
        return False
    first = data[0]
    if first == 0x00:
        return size == JOIN_REQUEST_LENGTH
    if first == 0x20:
        if size == JOIN_ACCEPT_LENGTHS[0]:
            return True
        return size == JOIN_ACCEPT_LENGTHS[1] and not _plausible_wmbus(data)
    return first == 0xC0 and size in REJOIN_LENGTHS


_WMBUS_C_FIELDS = frozenset(
    {0x00, 0x06, 0x08, 0x18, 0x28, 0x38, 0x40, 0x43, 0x44, 0x46, 0x47, 0x48, 0x53, 0x63}
    | {0x73, 0x5A, 0x5B, 0x7A, 0x7B}
)
_WMBUS_CI_FIELDS = frozenset({0x72, 0x78, 0x79, 0x7A, 0x8C, 0x8D, 0x8E, 0x8F, 0x90})


def _plausible_wmbus(data: bytes) -> bool:
    return data[1] in _WMBUS_C_FIELDS and data[10] in _WMBUS_CI_FIELDS
