"""JSON objects that end in one long list, one item per line: written and read as a stream.

Manifests and wrapped-key lists hold one entry per device key, a million of them for a big
export. Written in this fixed layout, they stream out in bounded memory, read back item by
item (no parsed copy of the whole document), and stay ordinary JSON for any other reader::

    {
      "field": value,
      "items": [
        {...},
        {...}
      ]
    }

A JSON string cannot contain a raw line break, so the layout's line structure is unambiguous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

#: Text gathered before a piece is handed on, so a million items are not a million writes.
_PIECE = 64 * 1024


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def iter_json_with_list(
    head: dict[str, Any],
    key: str,
    items: Iterable[dict[str, Any]] | Iterable[str],
    *,
    encoded: bool = False,
) -> Iterator[bytes]:
    """The document ``head`` plus ``key: items`` in the layout above, in pieces of ~64 KiB.

    ``encoded``: the items are JSON texts already, each exactly as ``json.dumps(item,
    ensure_ascii=False)`` would write it (callers with a faster exact encoder).
    """
    buffer = ["{\n", *(f"  {_dump(name)}: {_dump(value)},\n" for name, value in head.items())]
    size, separator = 0, "\n"
    buffer.append(f"  {_dump(key)}: [")
    for item in items:
        line = f"{separator}    {item if encoded else _dump(item)}"
        buffer.append(line)
        size += len(line)
        separator = ",\n"
        if size >= _PIECE:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    buffer.append("\n  ]\n}\n" if separator == ",\n" else "]\n}\n")
    yield "".join(buffer).encode()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a field appears twice")
    return result


def loads(text: str) -> Any:
    """``json.loads`` that refuses duplicate field names."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def read_json_with_list(data: bytes, key: str) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """Split a document in the layout above into its head and an iterator over its items.

    Raises ValueError (also from the iterator) for anything not in the layout.
    """
    text = data.decode("utf-8")
    marker = f"\n  {_dump(key)}: ["
    cut = text.find(marker)
    if cut < 0 or not text.startswith("{"):
        raise ValueError(f"no {key!r} list in the expected layout")
    head = loads(text[:cut].removesuffix(",") + "\n}")
    if not isinstance(head, dict):
        raise ValueError("not a JSON object")
    start = cut + len(marker)
    if text.endswith("]\n}\n") and start == len(text) - len("]\n}\n"):
        return head, iter(())
    end = len(text) - len("\n  ]\n}\n")
    if text[start : start + 1] != "\n" or not text.endswith("\n  ]\n}\n") or end <= start:
        raise ValueError(f"the {key!r} list is not in the expected layout")
    return head, _items(text, start + 1, end)


def _items(text: str, position: int, end: int) -> Iterator[dict[str, Any]]:
    while position < end:
        stop = text.find("\n", position, end)
        stop = end if stop < 0 else stop
        line = text[position:stop]
        if not line.startswith("    "):
            raise ValueError("a list item is not in the expected layout")
        item = loads(line[4:].removesuffix(","))
        if not isinstance(item, dict):
            raise ValueError("a list item is not a JSON object")
        yield item
        position = stop + 1


def same_bytes(pieces: Iterable[bytes], data: bytes) -> bool:
    """Whether the concatenated ``pieces`` equal ``data``, without joining them."""
    view, position = memoryview(data), 0
    for piece in pieces:
        if view[position : position + len(piece)] != piece:
            return False
        position += len(piece)
    return position == len(data)
