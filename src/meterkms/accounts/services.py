"""Every state change of accounts: login/logout, passwords, profile, users, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import login, logout, password_validation, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts import guards, mfa, reauth
from meterkms.accounts.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT
from meterkms.accounts.models import ApiToken, User
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import tenancy
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm, Role

TOKEN_PREFIX = "mkms_"  # noqa: S105 - the public prefix, not a secret


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(
            "invalid",
            " ".join(str(message) for message in exc.messages),
            details=[{"field": "password", "message": str(m)} for m in exc.messages],
        ) from None


@transaction.atomic
def create_user(
    *,
    email: str,
    name: str,
    organisation: Organisation,
    role: Role,
    password: str | None,
    language: str = "de",
    csv_delimiter: str = ";",
    csv_thousands_separator: str = "",
    must_change_password: bool = False,
    actor: Any | None = None,
    channel: str | None = None,
) -> User:
    """Create a user; the password is checked against the policy (None: no usable password).

    With an ``actor`` (an administrator in the web UI or the API) the actor needs
    ``users:manage``, the organisation must lie in the actor's subtree and the role must not
    be above the actor's own. Without one (the command line, the demo loader, an accepted
    invitation whose checks ran when it was sent) the caller has decided already.
    """
    if actor is not None:
        guards.require_perm(actor, Perm.USERS_MANAGE)
        guards.require_in_scope(actor, organisation)
        guards.require_grantable(actor, role)
    email = email.strip().lower()
    ensure_email_free(email)
    user = User(
        email=email,
        name=name.strip(),
        organisation=organisation,
        role=Role(role).value,
        language=language,
        csv_delimiter=csv_delimiter,
        csv_thousands_separator=csv_thousands_separator,
        must_change_password=must_change_password,
    )
    check_fields(user)
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
        user.password_changed_at = timezone.now()
    user.save(force_insert=True)
    record(
        Action.USER_CREATED,
        actor=actor,
        organisation=organisation,
        target=user,
        data={"role": user.role},
        channel=channel,
    )
    return user


def ensure_email_free(email: str, *, exclude: User | None = None) -> None:
    """Refuse an email address that another account uses already (case-insensitive)."""
    with tenancy.crossing("email addresses are unique across all organisations"):
        taken = User.objects.filter(email__iexact=email.strip())
        if exclude is not None:
            taken = taken.exclude(pk=exclude.pk)
        if taken.exists():
            message = _("A user with this email address exists already.")
            raise DomainError("conflict", message, details=[{"field": "email", "message": message}])


def check_fields(user: User) -> None:
    """Validate a user's plain fields (name, email format, language, CSV choices)."""
    if not user.name.strip():
        message = _("The name must not be empty.")
        raise DomainError("invalid", message, details=[{"field": "name", "message": message}])
    try:
        # Uniqueness is checked across tenants by ensure_email_free(); the organisation
        # was chosen from the actor's scope.
        user.clean_fields(exclude=["password", "organisation", "role"])
    except ValidationError as exc:
        details = [
            {"field": field, "message": str(message)}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        raise DomainError(
            "invalid", " ".join(d["message"] for d in details), details=details
        ) from None


@transaction.atomic
def log_in(request: HttpRequest, user: User) -> None:
    """Start a session for ``user`` (new session id) and audit it."""
    login(request, user, backend="meterkms.accounts.backends.EmailBackend")
    now = timezone.now().timestamp()
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_SEEN_AT] = now
    reauth.mark_fresh(request)  # the password was just entered: key downloads may follow
    record(Action.USER_LOGIN, actor=user, target=user)


#: Session key of a login whose password was right and whose second factor is still due.
SESSION_PENDING_LOGIN = "meterkms_pending_login"


def start_second_step(request: HttpRequest, user: User, next_url: str) -> None:
    """The password was right and the user has a second factor: the login waits for a code.

    Nobody is logged in yet; the session (with a new id) remembers the user for
    :data:`reauth.FRESH_SECONDS`.
    """
    request.session.cycle_key()
    request.session[SESSION_PENDING_LOGIN] = {
        "user": user.pk,
        "at": reauth.clock(),
        "next": next_url,
    }


def pending_login(request: HttpRequest) -> tuple[User, str] | None:
    """The user (and the page to go to) of a login waiting for its code, if still valid."""
    pending = request.session.get(SESSION_PENDING_LOGIN)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int | float):
        return None
    elapsed = reauth.clock() - pending["at"]
    if not 0 <= elapsed <= reauth.FRESH_SECONDS:
        return None
    with tenancy.crossing("the login of this session is waiting for its second factor"):
        user = User.objects.select_related("organisation").filter(pk=pending.get("user")).first()
    if user is None or not user.is_active:
        return None
    return user, str(pending.get("next") or "")


def finish_login(request: HttpRequest, user: User, code: str) -> mfa.Result:
    """Check the second factor of a pending login; on success the user is logged in."""
    result = mfa.verify(user=user, code=code, purpose="login")
    if result is mfa.Result.OK:
        request.session.pop(SESSION_PENDING_LOGIN, None)
        log_in(request, user)
        reauth.mark_second_factor(request)
    return result


@transaction.atomic
def record_failed_login(*, email: str, user: User | None) -> None:
    """Audit a failed login; the typed address is kept only when it names a real account."""
    data = {"email": user.email} if user is not None else {"unknown_account": True}
    record(Action.USER_LOGIN_FAILED, actor=None, organisation=_org_of(user), data=data)


@transaction.atomic
def record_lockout(*, email: str, user: User | None) -> None:
    """Audit that the throttle refused a login attempt."""
    data = {"email": user.email} if user is not None else {"unknown_account": True}
    record(Action.USER_LOCKED_OUT, actor=None, organisation=_org_of(user), data=data)


def _org_of(user: User | None) -> Organisation | None:
    return user.organisation if user is not None else None


@transaction.atomic
def log_out(request: HttpRequest) -> None:
    """End the session server-side and audit it."""
    user = request.user
    if user.is_authenticated:
        record(Action.USER_LOGOUT, actor=user, target=user)
    logout(request)


@transaction.atomic
def change_own_password(
    *, request: HttpRequest, user: User, new_password: str, confirmation: str
) -> User:
    """Set a new password chosen by the user; other sessions of the user end.

    The current session survives (its auth hash is refreshed); every other session's hash no
    longer matches and is logged out at its next request.
    """
    if new_password != confirmation:
        raise DomainError(
            "invalid",
            _("The two passwords differ."),
            details=[{"field": "confirmation", "message": _("The two passwords differ.")}],
        )
    if user.check_password(new_password):
        raise DomainError("invalid", _("The new password must differ from the current one."))
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    update_session_auth_hash(request, user)
    request.session.cycle_key()
    record(Action.USER_PASSWORD_CHANGED, actor=user, target=user)
    return user


PROFILE_FIELDS = ("name", "language", "csv_delimiter", "csv_thousands_separator")


@transaction.atomic
def update_profile(*, user: User, actor: User, **changes: str) -> User:
    """Change the user's own profile fields (name, language, CSV preferences)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise DomainError(
            "invalid",
            _("Unknown profile fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
        )
    changed = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if "name" in changed and not changed["name"].strip():
        raise DomainError("invalid", _("The name must not be empty."))
    for name, value in changed.items():
        setattr(user, name, value.strip() if name == "name" else value)
    if changed:
        user.full_clean(exclude=["password", "email", "organisation", "role"])
        user.save(update_fields=list(changed))
        record(
            Action.USER_PROFILE_CHANGED, actor=actor, target=user, data={"fields": sorted(changed)}
        )
    return user


def hash_token(token: str) -> str:
    """SHA-256 of an API token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def create_api_token(
    *,
    user: User,
    name: str,
    scopes: list[str] | None,
    expires_at: datetime | None = None,
    channel: str | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the token, shown only once.

    ``scopes`` must be a subset of the user's permissions (None: all of them).
    """
    if not user.has(Perm.TOKENS_MANAGE):
        raise DomainError("forbidden", _("Your role may not create API tokens."))
    if not name.strip():
        raise DomainError("invalid", _("An API token needs a name."))
    granted = {perm.value for perm in user.permissions}
    wanted = set(granted if scopes is None else scopes)
    beyond = wanted - granted
    if beyond:
        raise DomainError(
            "forbidden",
            _("Permissions beyond your role: %(perms)s.") % {"perms": ", ".join(sorted(beyond))},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("invalid", _("The expiry date must lie in the future."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(30)
    row = ApiToken(
        user=user,
        organisation_id=user.organisation_id,
        name=name.strip(),
        prefix=token[:13],
        token_hash=hash_token(token),
        scopes=sorted(wanted),
        expires_at=expires_at,
    )
    row.save(force_insert=True)
    record(
        Action.TOKEN_CREATED,
        actor=user,
        target=row,
        data={"scopes": row.scopes, "token_prefix": row.prefix},
        channel=channel,
    )
    return row, token


@transaction.atomic
def revoke_api_token(*, token: ApiToken, actor: User, channel: str | None = None) -> ApiToken:
    """Revoke a token at once; the next request with it is refused."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            Action.TOKEN_REVOKED,
            actor=actor,
            target=token,
            data={"token_prefix": token.prefix},
            channel=channel,
        )
    return token
