"""What all parsers share: the options they take and the guard that ends them cleanly.

Every public parser is a generator of :data:`ParsedItem` wrapped in :func:`guarded`, so a
problem that stops parsing (limit, encoding, broken structure) arrives as one last fatal
``RecordError`` instead of an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from meterkms.devices.importers.limits import DEFAULT_LIMITS, FatalFileError, ImportLimits
from meterkms.devices.importers.records import ParsedItem, RecordError, Severity


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Options every parser understands; each parser ignores what does not apply to it.

    ``mapping``: header (case-insensitive) → canonical field name, or ``""`` to ignore a column.
    ``delimiter``: CSV delimiter; None sniffs ``;`` ``,`` TAB ``|`` from the header row.
    ``encoding``: ``utf-8`` (BOM optional) or ``cp1252`` (only when chosen explicitly).
    ``password``: for encrypted Kamstrup KEM files.
    ``detect_duplicates``: report serials that appear twice in the file.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str = "utf-8"
    password: str | None = None
    limits: ImportLimits = DEFAULT_LIMITS
    detect_duplicates: bool = True

    def __repr__(self) -> str:
        # The KEM password never appears in a repr (and so never in a log line).
        return (
            f"ParseOptions(mapping={self.mapping!r}, delimiter={self.delimiter!r}, "
            f"encoding={self.encoding!r}, password={'***' if self.password else None}, "
            f"limits={self.limits!r}, detect_duplicates={self.detect_duplicates!r})"
        )


DEFAULT_OPTIONS = ParseOptions()


def fatal(exc: FatalFileError) -> RecordError:
    """The fatal problem for a stop."""
    return RecordError(exc.line, exc.field, exc.message, Severity.FATAL)


def guarded(chunks: Iterator[list[ParsedItem]]) -> Iterator[ParsedItem]:
    """The items of ``chunks`` one by one; a :class:`FatalFileError` becomes the last item.

    Parsers produce lists of items (a batch of rows at a time), so that passing a record on
    costs one generator step here, not one per generator layer.
    """
    try:
        for chunk in chunks:
            yield from chunk
    except FatalFileError as exc:
        yield fatal(exc)
    except RecursionError:
        yield RecordError(0, None, "the file is nested too deeply", Severity.FATAL)
