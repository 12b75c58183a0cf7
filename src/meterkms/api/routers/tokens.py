"""``/api/v1/tokens``: the caller's API tokens."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from meterkms.accounts import reauth, services
from meterkms.accounts.actors import TokenActor
from meterkms.accounts.models import ApiToken
from meterkms.api.errors import ERRORS
from meterkms.api.permissions import require
from meterkms.api.schemas.accounts import TokenCreatedOut, TokenIn, TokenOut
from meterkms.api.stepup import require_fresh
from meterkms.core.errors import PermissionDenied
from meterkms.organisations.permissions import Perm

router = Router(tags=["tokens"])


@router.get("", response={200: list[TokenOut], **ERRORS}, summary="List my API tokens")
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    require(request.auth, Perm.TOKENS_MANAGE)
    return list(ApiToken.objects.visible_to(request.auth))


@router.post("", response={201: TokenCreatedOut, **ERRORS}, summary="Create an API token")
def create_token(request: HttpRequest, payload: TokenIn) -> Status:
    require(request.auth, Perm.TOKENS_MANAGE)
    actor = request.auth
    scopes = payload.scopes
    if isinstance(actor, TokenActor):
        # A token never mints a token with more permissions than its own.
        allowed = set(actor.token.scopes)
        scopes = sorted(allowed) if scopes is None else scopes
        if not set(scopes) <= allowed:
            raise PermissionDenied("A token cannot grant more permissions than it holds.")
    elif reauth.grants_keys(actor, scopes):
        # A stolen session cookie must not mint a token that downloads keys unattended.
        require_fresh(request)
    row, token = services.create_api_token(
        user=actor.user, name=payload.name, scopes=scopes, expires_at=payload.expires_at
    )
    return Status(201, {**TokenOut.from_orm(row).model_dump(), "token": token})


@router.delete("/{int:token_id}", response={204: None, **ERRORS}, summary="Revoke an API token")
def revoke_token(request: HttpRequest, token_id: int) -> Status:
    require(request.auth, Perm.TOKENS_MANAGE)
    token = get_object_or_404(ApiToken.objects.visible_to(request.auth), pk=token_id)
    services.revoke_api_token(token=token, actor=request.auth.user)
    return Status(204, None)
