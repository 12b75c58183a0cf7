"""The actor behind an API token: the token's user, limited to the token's permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from meterkms.accounts.models import ApiToken, User
from meterkms.core import tenancy
from meterkms.organisations.permissions import Perm


@dataclass(frozen=True)
class TokenActor:
    """Acts for ``token.user`` in ``token.organisation`` with at most ``token.scopes``.

    A permission holds only when both the token lists it and the user's *current* role
    grants it, so lowering a user's role lowers their tokens at once.
    """

    token: ApiToken

    @property
    def user(self) -> User:
        return self.token.user

    @property
    def pk(self) -> Any:
        return self.token.user_id

    @property
    def organisation_id(self) -> Any:
        return self.token.organisation_id

    @property
    def organisation(self) -> Any:
        return self.token.user.organisation

    @property
    def organisation_path(self) -> str:
        return self.token.user.organisation.path

    def has(self, perm: Perm) -> bool:
        return perm.value in self.token.scopes and self.token.user.has(perm)


def actor_for_token(token_hash: str) -> TokenActor | None:
    """The actor of a usable token with this hash, or None. Marks the token as used."""
    with tenancy.crossing("an API token names its user; the user defines the scope"):
        token = (
            ApiToken.objects.select_related("user", "user__organisation")
            .filter(token_hash=token_hash)
            .first()
        )
    if token is None or not token.is_usable:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken._base_manager.filter(pk=token.pk).update(last_used_at=now)
    return TokenActor(token)
