"""HTTP clients for tests."""

from __future__ import annotations

from typing import Any

from django.test import Client


class HttpsClient(Client):
    """Django's test client speaking HTTPS, as every real client of meterkms does."""

    def generic(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)
