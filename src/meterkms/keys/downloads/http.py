"""The one way a key file becomes an HTTP answer, shared by the web UI and the API.

Key-bearing answers are attachments with ``Cache-Control: no-store`` (no browser, proxy or
back-button cache keeps them) and carry the download id, so a client can look the download
up in its list. Web views and API operations must not build key answers any other way.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from meterkms.keys.downloads.service import content_type
from meterkms.keys.exports.protection import Protection
from meterkms.keys.models import Download


def key_file_response(
    content: bytes | Iterator[bytes], *, download: Download, size: int
) -> HttpResponse | StreamingHttpResponse:
    """An attachment that carries keys: never cached, streamed when given chunks."""
    media_type = content_type(Protection(download.protection))
    response: HttpResponse | StreamingHttpResponse = (
        HttpResponse(content, content_type=media_type)
        if isinstance(content, bytes)
        else StreamingHttpResponse(content, content_type=media_type)
    )
    response["Content-Disposition"] = content_disposition_header(True, download.file_name)
    if size:
        response["Content-Length"] = str(size)
    patch_cache_control(response, no_store=True, private=True)
    response["Pragma"] = "no-cache"
    response["X-Download-Id"] = str(download.pk)
    response["X-Left-Out-Count"] = str(download.left_out_count)
    return response
