"""The key proof routes in the URL walk."""

from __future__ import annotations

from meterkms.organisations.permissions import Perm
from tests.support.urlwalk import Route, register

from .vectors import ELL_CTR, MODE5_LONG_TPL


def _capture(world: object, persona: object) -> dict[str, str]:
    return {"telegrams": f"{MODE5_LONG_TPL.frame}\n{ELL_CTR.frame}\n"}


register(
    Route("web:proofs", perm=Perm.KEYS_PROVE),
    Route("web:proofs", method="POST", perm=Perm.KEYS_PROVE, body=_capture),
    Route("api:prove", method="POST", perm=Perm.KEYS_PROVE, json=True, body=_capture),
    Route("api:prove_csv", method="POST", perm=Perm.KEYS_PROVE, json=True, body=_capture),
)
