"""HTTP clients for tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.support.leaks import found_in


class HttpsClient(Client):
    """Django's test client speaking HTTPS, as every real client of meterkms does.

    Every answer is scanned for the session's known test keys (tests.support.leaks); set
    ``may_carry_keys`` on a client that downloads keys on purpose.
    """

    may_carry_keys = False

    def generic(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["secure"] = True
        response = super().generic(*args, **kwargs)
        if not self.may_carry_keys and not response.streaming:
            leaked = found_in(response.content + str(response.headers).encode())
            assert not leaked, f"a response carried {len(leaked)} known test keys"
        return response
