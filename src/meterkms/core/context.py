"""Facts about the current request (id, client address, user agent, channel).

Set by the request-id middleware, read by the audit log and the log filter. Tasks and
commands set the channel themselves with :func:`channel`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestInfo:
    """Where an action came from; empty strings when unknown."""

    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    channel: str = "system"


_EMPTY = RequestInfo()
_info: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar(
    "meterkms_request_info",
    default=_EMPTY,
)


def current() -> RequestInfo:
    """The request info of the running request, task or command."""
    return _info.get()


def set_current(info: RequestInfo) -> contextvars.Token[RequestInfo]:
    """Replace the current info; returns the token to reset it."""
    return _info.set(info)


def reset(token: contextvars.Token[RequestInfo]) -> None:
    """Undo :func:`set_current`."""
    _info.reset(token)


@contextmanager
def channel(name: str) -> Iterator[None]:
    """Mark everything inside the block as coming from ``name`` (web, api, cli, task)."""
    token = _info.set(replace(_info.get(), channel=name))
    try:
        yield
    finally:
        _info.reset(token)
