"""wM-Bus telegram structure: link layer, ELL, AFL and TPL headers, and the security scheme.

Works on one frame without link CRCs (see :mod:`.frames`). Parsing needs no key: it finds
the addresses to look the device up by and everything a key check needs, or the reason why
no key check is possible ("cannot tell"). A frame too damaged to read raises
:class:`FrameError`.

Layout (EN 13757-4/-7, OMS vol. 2): L C M(2) A(6) | [ELL 8C/8D] [AFL 90] TPL 7A/72 | data.
The meter's own address is in the long TPL header (CI 72) when there is one; the link
address then belongs to the radio module, so both are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meterkms.devices.enums import Technology

from .model import AddressSource, DeviceAddress, FrameError, MeterAddress, Scheme

LINK_HEADER = 10
# AFL.MCL authentication type -> MAC bytes; 3..7 are AES-CMAC, 8 is AES-GMAC (not checked).
MAC_LENGTHS = {3: 2, 4: 4, 5: 8, 6: 12, 7: 16, 8: 12}
CMAC_TYPES = frozenset({3, 4, 5, 6, 7})
ELL_SECURITY_CTR = 1

_WMBUS = Technology.WMBUS
_MANUFACTURERS: dict[int, str] = {}


def manufacturer_code(value: int) -> str:
    """Three-letter manufacturer code of the 2-byte M field value (``0x05B4`` is ``AMT``).

    A value whose letters fall outside A..Z is shown as 4 hex digits, so it still works as
    a lookup key and never looks like a real code.
    """
    code = _MANUFACTURERS.get(value)
    if code is None:
        letters = ((value >> 10) & 31, (value >> 5) & 31, value & 31)
        if value < 0x8000 and all(1 <= letter <= 26 for letter in letters):
            code = "".join(chr(64 + letter) for letter in letters)
        else:
            code = f"{value:04X}"
        _MANUFACTURERS[value] = code
    return code


def device_address(raw: bytes) -> DeviceAddress:
    """The lookup address of M (2 bytes, little-endian) + A (ID 4 LE, version, type)."""
    value = raw[0] | raw[1] << 8
    code = _MANUFACTURERS.get(value) or manufacturer_code(value)
    return DeviceAddress(_WMBUS, code, raw[5:1:-1].hex().upper())


def meter_address(raw: bytes) -> MeterAddress:
    """The full address of M + A: lookup address, version and device type."""
    return MeterAddress(device_address(raw), raw[6], raw[7], raw)


@dataclass(slots=True)
class EllHeader:
    """Extended link layer: CI 8C (CC, ACC) or 8D (CC, ACC, SN, payload CRC)."""

    ci: int
    cc: int
    acc: int
    sn: bytes  # empty for 8C
    payload_start: int  # first byte after the header; for 8D the (encrypted) payload CRC


@dataclass(slots=True)
class AflHeader:
    """Authentication and fragmentation layer (CI 90), the fields that feed the MAC."""

    fcl: int
    mcl: int
    ki: bytes
    mcr: bytes
    mac: bytes
    ml: bytes


@dataclass(slots=True)
class TplHeader:
    """Transport layer header: CI 7A (short) or 72 (long), with the decoded CW field."""

    ci: int
    start: int  # offset of the TPL CI field in the frame
    acc: int
    sts: int
    cw: int
    mode: int
    blocks: int
    cw_ext: int | None
    payload_start: int  # first byte after the header: start of the encrypted blocks


@dataclass(slots=True)
class WMBusTelegram:
    """A parsed wM-Bus frame: addresses, headers and the scheme a key can be checked by.

    ``cannot_tell`` is empty when a key check is possible, else the plain reason why not.
    Addresses are kept as the 8 bytes M + A they were sent as (``link_raw``, and
    ``tpl_raw`` from a long TPL header); the readable forms are built when asked for, the
    lookup address once.
    """

    line: int
    frame: bytes
    link_crcs: bool
    trailing_bytes: int
    c_field: int
    link_raw: bytes
    tpl_raw: bytes | None
    layers: tuple[str, ...]
    ell: EllHeader | None
    afl: AflHeader | None
    tpl: TplHeader | None
    scheme: Scheme
    cannot_tell: str
    _address: DeviceAddress | None = field(default=None, repr=False, compare=False)

    technology = Technology.WMBUS
    join_eui = None

    @property
    def meter_raw(self) -> bytes:
        """M + A of the meter itself: from the long TPL header when present, else the link."""
        return self.tpl_raw or self.link_raw

    @property
    def link_address(self) -> MeterAddress:
        """The link-layer address (the radio part, possibly an external module)."""
        return meter_address(self.link_raw)

    @property
    def tpl_address(self) -> MeterAddress | None:
        """The long TPL header's address (the meter behind a module), when present."""
        return None if self.tpl_raw is None else meter_address(self.tpl_raw)

    @property
    def address(self) -> DeviceAddress:
        """The address to look the device up by first: the meter's own."""
        if self._address is None:
            self._address = device_address(self.tpl_raw or self.link_raw)
        return self._address

    @property
    def lookup_addresses(self) -> tuple[DeviceAddress, ...]:
        """Addresses a key may be stored under, most likely first (meter, then module)."""
        address = self.address
        if self.tpl_raw is None:
            return (address,)
        link = device_address(self.link_raw)
        return (address,) if link == address else (address, link)

    @property
    def iv_source(self) -> AddressSource | None:
        """Which header's address fed the IV (mode 5) or the key derivation (mode 7)."""
        if self.scheme is Scheme.MODE5 or self.scheme is Scheme.MODE7:
            return AddressSource.LINK if self.tpl_raw is None else AddressSource.TPL
        if self.scheme is Scheme.ELL_CTR:
            return AddressSource.LINK
        return None


class _Walk:
    """Mutable state while walking the CI chain of one frame."""

    __slots__ = ("afl", "ell", "frame", "layers", "pos", "tpl", "tpl_raw")

    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.pos = LINK_HEADER
        self.layers: tuple[str, ...] = ()
        self.ell: EllHeader | None = None
        self.afl: AflHeader | None = None
        self.tpl: TplHeader | None = None
        self.tpl_raw: bytes | None = None

    def need(self, count: int, what: str) -> None:
        """Raise when fewer than ``count`` bytes are left for ``what``."""
        left = len(self.frame) - self.pos
        if left < count:
            raise FrameError(f"{what} needs {count} bytes at offset {self.pos}, only {left} left")


def parse_wmbus(
    frame: bytes, *, line: int = 0, link_crcs: bool = False, trailing_bytes: int = 0
) -> WMBusTelegram:
    """Parse one wM-Bus frame (without link CRCs, exactly L + 1 bytes long).

    Raises :class:`FrameError` when a header is cut short or inconsistent.
    """
    if len(frame) < LINK_HEADER:
        raise FrameError(
            f"a wM-Bus link header has {LINK_HEADER} bytes (L C M A), got {len(frame)}"
        )
    walk = _Walk(frame)
    scheme, reason = _walk_layers(walk)
    # Positional arguments, in field order: this runs once per telegram of a batch.
    return WMBusTelegram(
        line,
        frame,
        link_crcs,
        trailing_bytes,
        frame[1],
        frame[2:10],
        walk.tpl_raw,
        walk.layers,
        walk.ell,
        walk.afl,
        walk.tpl,
        scheme,
        reason,
    )


def _walk_layers(walk: _Walk) -> tuple[Scheme, str]:
    """Follow the CI fields to the layer that carries the security; the scheme or why not."""
    frame = walk.frame
    while walk.pos < len(frame):
        ci = frame[walk.pos]
        if ci in (0x7A, 0x72):
            return _tpl(walk, ci)
        if ci == 0x8C or ci == 0x8D:
            outcome = _ell(walk, ci)
            if outcome is not None:
                return outcome
        elif ci == 0x90:
            _afl(walk)
        else:
            return Scheme.NONE, _other_ci(ci)
    return Scheme.NONE, "no application data after the link header: nothing to check"


def _other_ci(ci: int) -> str:
    if ci == 0x78:
        return "CI 78: no transport header, so the data is not encrypted"
    if ci == 0x79:
        return "CI 79: compact frame without transport header, so nothing is encrypted"
    if ci in (0x8E, 0x8F):
        return f"CI {ci:02X}: extended link layer with address fields is not supported"
    return f"CI {ci:02X}: no supported security header (manufacturer-specific or other)"


def _ell(walk: _Walk, ci: int) -> tuple[Scheme, str] | None:
    """Read an ELL header; returns the scheme when the ELL itself is encrypted."""
    frame, pos = walk.frame, walk.pos
    if ci == 0x8C:
        walk.need(3, "the ELL header (CI 8C)")
        walk.ell = EllHeader(ci, frame[pos + 1], frame[pos + 2], b"", pos + 3)
        walk.layers += ("ELL 8C",)
        walk.pos = pos + 3
        return None
    walk.need(9, "the ELL header (CI 8D)")
    sn = frame[pos + 3 : pos + 7]
    walk.ell = EllHeader(ci, frame[pos + 1], frame[pos + 2], sn, pos + 7)
    walk.layers += ("ELL 8D",)
    security = sn[3] >> 5  # top 3 bits of the little-endian session number
    if security == ELL_SECURITY_CTR:
        return Scheme.ELL_CTR, ""
    if security:
        return Scheme.NONE, f"ELL encryption method {security} is not supported"
    walk.pos = pos + 9  # not encrypted: skip the plain payload CRC as well
    return None


def _afl(walk: _Walk) -> None:
    """Read an AFL header (CI 90): FCL, then MCL, KI, MCR, MAC, ML as FCL announces."""
    frame, pos = walk.frame, walk.pos
    walk.need(4, "the AFL header (CI 90)")
    end = pos + 2 + frame[pos + 1]
    walk.need(end - pos, "the AFL header (CI 90)")
    if end < pos + 4:
        raise FrameError(f"AFL at offset {pos}: its length field leaves no room for the FCL")
    fcl = frame[pos + 2] | frame[pos + 3] << 8
    mcl_at = pos + 4
    mcl = frame[mcl_at] if fcl & 0x2000 and mcl_at < end else 0
    # Field offsets in the order of the standard; the MAC length comes from MCL.
    sizes = (
        1 if fcl & 0x2000 else 0,  # MCL
        2 if fcl & 0x0200 else 0,  # KI
        4 if fcl & 0x0800 else 0,  # MCR
        MAC_LENGTHS.get(mcl & 0x0F, 0) if fcl & 0x0400 else 0,  # MAC
        2 if fcl & 0x1000 else 0,  # ML
    )
    if mcl_at + sum(sizes) > end:
        raise FrameError(f"AFL at offset {pos}: its fields do not fit its length field")
    starts = [mcl_at]
    for size in sizes:
        starts.append(starts[-1] + size)
    ki, mcr, mac, ml = (frame[starts[i] : starts[i + 1]] for i in range(1, 5))
    walk.afl = AflHeader(fcl, mcl, ki, mcr, mac, ml)
    walk.layers += ("AFL 90",)
    walk.pos = end


def _tpl(walk: _Walk, ci: int) -> tuple[Scheme, str]:
    """Read a short (7A) or long (72) TPL header and decide the scheme from its CW field."""
    frame, pos = walk.frame, walk.pos
    if ci == 0x72:
        walk.need(13, "the long TPL header (CI 72)")
        # Long TPL: ID (4), M (2), version, type; reordered to M + A like the link layer.
        walk.tpl_raw = (
            frame[pos + 5 : pos + 7] + frame[pos + 1 : pos + 5] + frame[pos + 7 : pos + 9]
        )
        head = pos + 9
    else:
        walk.need(5, "the short TPL header (CI 7A)")
        head = pos + 1
    cw = frame[head + 2] | frame[head + 3] << 8
    mode = (cw >> 8) & 0x1F
    cw_ext = None
    start = head + 4
    if mode == 7:
        walk.pos = start
        walk.need(1, "the CW extension byte of mode 7")
        cw_ext = frame[start]
        start += 1
    blocks = (cw >> 4) & 0x0F
    walk.tpl = TplHeader(ci, pos, frame[head], frame[head + 1], cw, mode, blocks, cw_ext, start)
    walk.layers += ("TPL 72",) if ci == 0x72 else ("TPL 7A",)
    walk.pos = start
    return _tpl_scheme(walk, mode, blocks)


def _tpl_scheme(walk: _Walk, mode: int, blocks: int) -> tuple[Scheme, str]:
    if mode == 0:
        return Scheme.NONE, "security mode 0: the data is not encrypted"
    if mode not in (2, 5, 7):
        return Scheme.NONE, f"security mode {mode} is not supported"
    walk.need(blocks * 16, "the encrypted blocks the CW field announces")
    if mode == 7:
        return _mode7_scheme(walk, blocks)
    if blocks == 0:
        return Scheme.NONE, f"security mode {mode} with no encrypted blocks: nothing to check"
    return (Scheme.MODE5 if mode == 5 else Scheme.DES_MODE2), ""


def _mode7_scheme(walk: _Walk, blocks: int) -> tuple[Scheme, str]:
    tpl, afl = walk.tpl, walk.afl
    assert tpl is not None
    assert tpl.cw_ext is not None
    kdf = (tpl.cw_ext >> 4) & 3
    if kdf != 1:
        return Scheme.NONE, f"mode 7 with key derivation {kdf} is not supported (only KDF-A)"
    if afl is None or len(afl.mcr) != 4:
        return Scheme.NONE, "mode 7 without an AFL message counter: the key cannot be derived"
    if afl.fcl & 0x4000:
        return Scheme.NONE, "fragmented message (AFL): only unfragmented ones are checked"
    if afl.fcl & 0x0400 and afl.mcl & 0x0F not in CMAC_TYPES:
        return Scheme.NONE, f"AFL authentication type {afl.mcl & 0x0F} is not supported"
    if not afl.mac and blocks == 0:
        return Scheme.NONE, "mode 7 with neither a MAC nor encrypted blocks: nothing to check"
    return Scheme.MODE7, ""
