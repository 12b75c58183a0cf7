"""``/api/v1/me``: who am I?"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from meterkms.api.errors import ERRORS
from meterkms.api.schemas.accounts import MeOut

router = Router(tags=["account"])


@router.get("", response={200: MeOut, **ERRORS}, summary="The caller and their permissions")
def me(request: HttpRequest) -> dict[str, object]:
    actor = request.auth
    user = actor.user
    permissions = sorted(perm.value for perm in user.permissions if actor.has(perm))
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "language": user.language,
        "organisation": {"id": user.organisation.pk, "name": user.organisation.name},
        "permissions": permissions,
        "via_token": actor is not user,
    }
