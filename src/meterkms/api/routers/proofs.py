"""``/api/v1/proofs``: prove stored keys against captured telegrams, without revealing them.

The capture comes as JSON (``{"telegrams": "…"}``, up to the request size limit of 3 MB),
as a ``text/plain`` body (streamed line by line) or as a multipart upload (field ``file``);
the latter two take logs of up to 64 MB, about 400,000 telegrams. The answer is the summary
and the results per line (``results=problems`` leaves the proven ones out, ``results=none``
gives the summary only), or the CSV report from ``/api/v1/proofs/csv``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import pydantic
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router
from ninja.errors import ValidationError

from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.permissions import require
from meterkms.api.schemas.proofs import ProofIn, ProofOut, TechnologyIn
from meterkms.core.errors import DomainError
from meterkms.devices.enums import Technology
from meterkms.keys.proofs import Verdict
from meterkms.keys.proofs.rows import CsvReport, ProofRow, Texts
from meterkms.keys.proofs.service import ProofRun, prove_traffic
from meterkms.organisations.permissions import Perm

router = Router(tags=["proofs"])

MAX_CAPTURE_BYTES = 64 * 1024 * 1024
Results = Literal["all", "problems", "none"]
_TEXT_TYPES = {"text/plain", "application/octet-stream"}

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ProofIn.model_json_schema()},
            "text/plain": {
                "schema": {"type": "string", "description": "the capture, one telegram per line"}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
_CSV_RESPONSE = {"responses": {200: {"description": "the CSV report", "content": {"text/csv": {}}}}}


@router.post(
    "",
    response={200: ProofOut, **ERRORS, 413: ErrorOut},
    summary="Prove stored keys against captured telegrams",
    openapi_extra=_REQUEST_BODY,
)
def prove(
    request: HttpRequest, results: Results = "all", technology: TechnologyIn | None = None
) -> HttpResponse:
    """Each telegram checked against the keys of the devices you may see under its address.

    **ERRORS**: 403 without the ``keys:prove`` permission; 413 for a capture over the size
    limits; 422 for a body that is not a capture or holds no telegram.
    """
    require(request.auth, Perm.KEYS_PROVE)
    texts = Texts()
    collected: list[dict[str, Any]] = []

    def take(rows: list[ProofRow]) -> None:
        collected.extend(
            result_out(row, texts) for row in rows if results == "all" or not row.proven
        )

    run = _run(request, technology, take if results != "none" else None)
    body = {"summary": summary_out(run), "results": collected}
    # Built from the schema's fields directly: validating 100,000 results against the
    # schema would take longer than proving them (tests check the shape against ProofOut).
    return HttpResponse(json.dumps(body, separators=(",", ":")), content_type="application/json")


@router.post(
    "/csv",
    response={200: None, **ERRORS, 413: ErrorOut},
    summary="Prove stored keys against captured telegrams: CSV report",
    openapi_extra={**_REQUEST_BODY, **_CSV_RESPONSE},
)
def prove_csv(request: HttpRequest, technology: TechnologyIn | None = None) -> HttpResponse:
    """The same proof as ``POST /api/v1/proofs``, answered with the CSV report of every line.

    **ERRORS**: as ``POST /api/v1/proofs``.
    """
    require(request.auth, Perm.KEYS_PROVE)
    out = io.StringIO()
    _run(request, technology, CsvReport(out).write)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="key-proof.csv"'
    return response


def _run(request: HttpRequest, technology: str | None, on_rows: Any) -> ProofRun:
    data, chosen, source = _capture(request)
    chosen = chosen or technology
    return prove_traffic(
        actor=request.auth,
        data=data,
        technology=Technology(chosen) if chosen else None,
        keep=0,
        on_rows=on_rows,
        source=source,
        channel="api",
    )


def _capture(request: HttpRequest) -> tuple[str | Iterable[str], str | None, str]:
    """The capture of the request body, the technology it names and where it came from."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_CAPTURE_BYTES:
        raise DomainError("too_large", _("A capture is limited to 64 MB: send it in parts."))
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            body = request.body
        except RequestDataTooBig:
            raise DomainError(
                "too_large",
                _("A JSON body is limited to 3 MB: send bigger captures as text/plain or a file."),
            ) from None
        try:
            payload = ProofIn.model_validate_json(body)
        except pydantic.ValidationError as exc:
            raise ValidationError(
                [{"loc": ("body", *error["loc"]), "msg": error["msg"]} for error in exc.errors()]
            ) from None
        return payload.telegrams, payload.technology, "json"
    if content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("invalid", _("Send the capture as the form field 'file'."))
        return _decoded(upload), request.POST.get("technology") or None, upload.name or "upload"
    if content_type in _TEXT_TYPES:
        return _decoded(request), None, "text"
    raise DomainError(
        "invalid", _("Send the capture as JSON, as text/plain or as a multipart file upload.")
    )


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    """Lines of a stream or an upload, decoded one by one (UTF-8, a byte-order mark dropped)."""
    first = True
    for raw in lines:
        text = raw.decode("utf-8", errors="replace")
        if first:
            text, first = text.removeprefix("\ufeff"), False
        yield text


def summary_out(run: ProofRun) -> dict[str, Any]:
    """The summary of a run as the API gives it."""
    summary = run.summary
    verdicts = summary.telegram_verdicts
    return {
        "lines": run.lines,
        "telegrams": summary.telegrams,
        "bad_lines": summary.bad_lines,
        "telegram_verdicts": {
            "proven": verdicts.get(Verdict.PROVEN, 0),
            "wrong_key": verdicts.get(Verdict.WRONG_KEY, 0),
            "no_device": verdicts.get(Verdict.NO_DEVICE, 0),
            "cannot_tell": verdicts.get(Verdict.CANNOT_TELL, 0),
        },
        "devices": {
            "proven": summary.proven_devices,
            "wrong_key": summary.wrong_key_devices,
            "unknown": summary.unknown_devices,
        },
        "unreadable_keys": run.unreadable_keys,
    }


def result_out(row: ProofRow, texts: Texts) -> dict[str, Any]:
    """One line's result as the API gives it (``texts``: the labels in the caller's language)."""
    return {
        "line": row.line,
        "verdict": row.verdict,
        "verdict_text": texts.verdicts[row.verdict],
        "reason": texts.reason(row),
        "technology": row.technology,
        "scheme": None if row.scheme is None else row.scheme.value,
        "scheme_text": texts.scheme(row),
        "address": row.address,
        "link_address": row.link_address,
        "tpl_address": row.tpl_address,
        "iv_address": None if row.iv_source is None else row.iv_source.value,
        "join_eui": row.join_eui,
        "checks": [{"kind": check.kind.value, "passed": check.passed} for check in row.checks],
        "devices": [{"id": device.id, "serial": device.serial} for device in row.devices],
        "key_slot": row.key_slot,
        "candidates_tried": row.candidates_tried,
    }
