"""The shipped blocklist of common passwords and the validator that rejects them.

The list (``meterkms/accounts/data/common-passwords.txt.gz``, built by
``scripts/build_password_blocklist.py``) holds folded entries (NFKC, case-folded), one per
line, sorted by their UTF-8 bytes, behind a header of ``#`` lines that ends at the first
empty line. It is loaded once per process, on first use, into one ``bytes`` blob plus an
array of offsets: a few MB for some hundred thousand entries, where a ``set`` of ``str``
would take several times that. Membership is a binary search over the blob.

A password is rejected when its folded form is listed, or when a variant attackers derive
from listed words is: separators removed, a leading or trailing run of digits and specials
removed ("Summer2025!!" → "summer"), leetspeak read back ("P@ssw0rd" → "password").
"""

from __future__ import annotations

import gzip
import os
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import accumulate, islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from meterkms.accounts.passwords.normalise import deleet, fold, strip_affixes, strip_separators

BLOCKLIST_FILENAME = "common-passwords.txt.gz"
MAGIC = "#!meterkms-password-blocklist 1"
META_PREFIX = "## "

# Stems shorter than this are not looked up on their own: "ab" + 10 random digits and
# specials is not a variant of a listed word.
MIN_STEM_LENGTH = 4


class BlocklistFileError(ValueError):
    """The blocklist file is missing, unreadable or not in the expected format."""


class Blocklist:
    """A sorted set of folded passwords held as one UTF-8 blob with an offset array.

    Invariant: ``_blob`` is the entries joined by and ending with ``b"\\n"``, sorted by
    their bytes and unique; ``_offsets[i]`` is where entry ``i`` starts and
    ``_offsets[-1] == len(_blob)``.
    """

    __slots__ = ("_blob", "_longest", "_offsets", "meta")

    def __init__(self, body: bytes, meta: Mapping[str, str] | None = None) -> None:
        """Index ``body`` (sorted, unique, newline-terminated folded entries)."""
        if body and not body.endswith(b"\n"):
            raise BlocklistFileError("blocklist body must end with a newline")
        self._blob = body
        self._offsets, self._longest = _index(body)
        self.meta: dict[str, str] = dict(meta or {})

    @classmethod
    def from_entries(
        cls, entries: Iterable[str], meta: Mapping[str, str] | None = None
    ) -> Blocklist:
        """Build a blocklist from raw entries, folding, de-duplicating and sorting them."""
        return cls(encode_body(entries), meta)

    def __len__(self) -> int:
        """Number of entries."""
        return len(self._offsets) - 1

    def __iter__(self) -> Iterator[str]:
        """Yield the entries in their stored (byte) order."""
        blob, offsets = self._blob, self._offsets
        for index in range(len(offsets) - 1):
            yield blob[offsets[index] : offsets[index + 1] - 1].decode("utf-8")

    def __contains__(self, folded: object) -> bool:
        """True when ``folded`` (already passed through :func:`fold`) is an entry."""
        if not isinstance(folded, str):
            return False
        key = folded.encode("utf-8")
        if not key or len(key) > self._longest:
            return False
        blob, offsets = self._blob, self._offsets
        low, high = 0, len(offsets) - 1
        while low < high:
            middle = (low + high) // 2
            entry = blob[offsets[middle] : offsets[middle + 1] - 1]
            if entry < key:
                low = middle + 1
            elif entry > key:
                high = middle
            else:
                return True
        return False

    @property
    def nbytes(self) -> int:
        """Bytes held by the blob and the offset array (the memory the list costs)."""
        return len(self._blob) + self._offsets.itemsize * len(self._offsets)


# Lines are indexed a chunk at a time, so loading never holds a Python object per entry.
_INDEX_CHUNK = 1 << 20


def _index(body: bytes) -> tuple[array, int]:
    """Return the start offset of every line of ``body`` (plus its end) and the longest line.

    uint32 offsets cost 4 bytes per entry, where a list of ``bytes`` would cost about 40.
    """
    offsets = array("I", [0])
    longest = 0
    start, size = 0, len(body)
    while start < size:
        end = body.find(b"\n", min(start + _INDEX_CHUNK, size) - 1) + 1 or size
        lengths = [len(line) for line in body[start:end].split(b"\n")[:-1]]
        ends = accumulate((length + 1 for length in lengths), initial=offsets[-1])
        offsets.extend(islice(ends, 1, None))  # the initial value is already in offsets
        longest = max([longest, *lengths])
        start = end
    return offsets, longest


def encode_body(entries: Iterable[str]) -> bytes:
    """Fold, de-duplicate and sort ``entries``; return them as a newline-terminated blob.

    Entries that are empty after folding and stripping, or that contain a line break or
    another control character, are dropped: they cannot be stored one per line.
    """
    keys = set()
    for entry in entries:
        folded = fold(entry).strip()
        # isprintable() is False for line breaks, tabs and other control or format
        # characters, and True for the ASCII space that passphrases contain.
        if folded and folded.isprintable():
            keys.add(folded.encode("utf-8"))
    # UTF-8 byte order equals code point order, so this is also sorted as text.
    return b"".join(key + b"\n" for key in sorted(keys))


def parse_blocklist(data: bytes) -> Blocklist:
    """Parse a decompressed blocklist file: header lines, one empty line, then the body."""
    header, separator, body = data.partition(b"\n\n")
    lines = header.decode("utf-8").split("\n")
    if not separator or lines[0] != MAGIC:
        raise BlocklistFileError(
            f"not a meterkms password blocklist: the file must start with {MAGIC!r} "
            "and end its header with an empty line"
        )
    meta = {}
    for line in lines[1:]:
        if line.startswith(META_PREFIX) and ": " in line:
            key, value = line[len(META_PREFIX) :].split(": ", 1)
            meta[key.strip()] = value.strip()
    return Blocklist(body, meta)


def default_blocklist_path() -> Traversable:
    """Return the blocklist shipped in the package (readable even from a zipped install)."""
    return resources.files("meterkms.accounts.data").joinpath(BLOCKLIST_FILENAME)


def read_blocklist(path: str | os.PathLike[str] | None = None) -> Blocklist:
    """Read and parse a gzip-compressed blocklist file (the shipped one by default)."""
    target = Path(path) if path is not None else default_blocklist_path()
    try:
        data = gzip.decompress(target.read_bytes())
    except (OSError, EOFError) as error:
        raise BlocklistFileError(f"cannot read password blocklist {target}: {error}") from error
    return parse_blocklist(data)


_cache: dict[str, Blocklist] = {}
_cache_lock = threading.Lock()


def load_blocklist(path: str | os.PathLike[str] | None = None) -> Blocklist:
    """Return the blocklist at ``path`` (shipped one by default), loaded once per process."""
    key = os.fspath(path) if path is not None else ""
    blocklist = _cache.get(key)
    if blocklist is None:
        with _cache_lock:
            blocklist = _cache.get(key)
            if blocklist is None:
                blocklist = _cache[key] = read_blocklist(path)
    return blocklist


def candidate_forms(password: str, *, min_stem: int = MIN_STEM_LENGTH) -> list[str]:
    """Return the folded password first, then the variants looked up in the blocklist.

    Variants: surrounding spaces stripped; separators removed; a leading and/or trailing
    run of non-letters removed (when at least ``min_stem`` characters remain); each of those
    with leetspeak read back. The list is de-duplicated and keeps this order.
    """
    folded = fold(password)
    forms = [folded]
    for root in (folded, folded.strip(), strip_separators(folded)):
        stems = [root]
        for leading, trailing in ((False, True), (True, False), (True, True)):
            stem = strip_affixes(root, leading=leading, trailing=trailing)
            if len(stem) >= min_stem:
                stems.append(stem)
        for stem in stems:
            forms.append(stem)
            forms.extend(deleet(stem))
    return [form for form in dict.fromkeys(forms) if form]


class BlocklistValidator:
    """Reject passwords that are, or are simple variants of, common or context passwords.

    Usable in ``AUTH_PASSWORD_VALIDATORS``; ``path`` points at another list file in the
    same format (for example one built with more sources), ``min_stem`` is the shortest
    stem looked up after stripping digits and specials.
    """

    def __init__(self, path: str | None = None, min_stem: int = MIN_STEM_LENGTH) -> None:
        """Remember where the list is; it is loaded on first use, not here."""
        self.path = path
        self.min_stem = min_stem

    @property
    def blocklist(self) -> Blocklist:
        """The loaded list (read once per process, then shared)."""
        return load_blocklist(self.path)

    def validate(self, password: str, user: object | None = None) -> None:
        """Raise ``ValidationError`` when the password or one of its variants is listed."""
        forms = candidate_forms(password, min_stem=self.min_stem)
        if not forms:
            return
        blocklist = self.blocklist
        if forms[0] in blocklist:
            raise ValidationError(
                gettext_lazy("This password is too common."), code="password_too_common"
            )
        if any(form in blocklist for form in forms[1:]):
            raise ValidationError(
                gettext_lazy(
                    "This password is a common password with a few characters added, "
                    "removed or swapped."
                ),
                code="password_common_variant",
            )

    def get_help_text(self) -> str:
        """Explain the rule to the user."""
        return gettext(
            "Your password can’t be a commonly used password, nor one with only digits or "
            "special characters added or letters swapped for look-alikes."
        )
