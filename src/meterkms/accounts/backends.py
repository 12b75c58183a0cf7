"""Authentication backend: email + password, looked up across organisations on purpose."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from meterkms.accounts.models import User
from meterkms.core import tenancy


class EmailBackend(ModelBackend):
    """Logs users in by email (case-insensitive); inactive users cannot log in.

    Finding the user for a login or a session crosses tenants by nature: no actor exists yet.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = username or kwargs.get("email")
        if not email or password is None:
            return None
        with tenancy.crossing("authentication looks the user up by email"):
            try:
                user = User.objects.select_related("organisation").get(email__iexact=email.strip())
            except User.DoesNotExist:
                # Spend the hashing time anyway so unknown addresses are not faster.
                User().set_password(password)
                return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        with tenancy.crossing("the session names its user; the user defines the scope"):
            user = User.objects.select_related("organisation").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


def throttle_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The account name the login throttle counts by: the email as the backend matches it.

    Logins match the email case-insensitively and without surrounding spaces, so
    ``Demo@…`` and ``demo@… `` must count against one lockout, not one each.
    """
    raw = (credentials or {}).get("username") or (credentials or {}).get("email") or ""
    if not raw and request is not None:
        raw = request.POST.get("username", "") if request.method == "POST" else ""
    return str(raw).strip().lower()
