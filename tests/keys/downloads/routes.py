"""The routes of key downloads and re-authentication in the URL walk.

The walk logs personas in without entering a password, so every route that lets keys leave
answers "confirm your password first" for the persona's own objects: a redirect to /reauth/
in the browser, 403 ``reauthentication_required`` in the API. Foreign and missing downloads
answer 404 before that check, identically.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from meterkms.accounts.models import User
from meterkms.keys.models import Download, DownloadState
from meterkms.organisations.permissions import Perm
from tests.support.personas import World
from tests.support.urlwalk import Route, register


def _download_of(user: User) -> Download:
    return Download._base_manager.create(
        organisation_id=user.organisation_id,
        created_by=user,
        channel="web",
        format="csv",
        protection="password",
        state=DownloadState.DELIVERED,
        created_at=timezone.now(),
    )


def download_target(world: World, persona: User, kind: str) -> dict[str, Any]:
    """Own: the persona's download; foreign: one of the other tree; missing: no such id."""
    if kind == "own":
        return {"download_id": _download_of(persona).pk}
    if kind == "foreign":
        other = world.cecil if persona.organisation_id != world.org_b.pk else world.olga
        return {"download_id": _download_of(other).pk}
    return {"download_id": uuid.uuid4()}


register(
    Route("web:reauth"),
    Route("web:reauth", method="POST", body=lambda w, u: {"password": "wrong"}),
    Route("web:downloads", perm=Perm.KEYS_DOWNLOAD),
    Route("web:download_new", perm=Perm.KEYS_DOWNLOAD, ok=(302,)),
    Route(
        "web:download_new",
        method="POST",
        perm=Perm.KEYS_DOWNLOAD,
        ok=(302,),
        body=lambda w, u: {"format": "csv", "protection": "none"},
    ),
    Route("web:download_detail", perm=Perm.KEYS_DOWNLOAD, target=download_target),
    Route(
        "web:download_file",
        method="POST",
        perm=Perm.KEYS_DOWNLOAD,
        target=download_target,
        ok=(302,),
    ),
    Route(
        "api:preview_download",
        method="POST",
        perm=Perm.KEYS_DOWNLOAD,
        json=True,
        body=lambda w, u: {"devices": [987_654_321]},
    ),
    Route(
        "api:create_download",
        method="POST",
        perm=Perm.KEYS_DOWNLOAD,
        json=True,
        ok=(403,),
        body=lambda w, u: {"devices": [987_654_321], "protection": "none"},
    ),
    Route("api:list_downloads", perm=Perm.KEYS_DOWNLOAD),
    Route("api:get_download", perm=Perm.KEYS_DOWNLOAD, target=download_target),
    Route(
        "api:fetch_download",
        method="POST",
        perm=Perm.KEYS_DOWNLOAD,
        target=download_target,
        ok=(403,),
    ),
)
