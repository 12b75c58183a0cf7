"""The account emails: "forgot password" links and confirming a new email address.

Tokens have 256 bits (``secrets.token_urlsafe(32)``); only their SHA-256 is stored, so a
database dump holds no usable link. A reset link works once, for at most 60 minutes, and
dies as soon as the account moves on: a later login, a password change (the stored
fingerprint of the password hash no longer matches), a newer reset link, an email change or
a deactivation. Every failure looks the same to the visitor.

"Forgot password" does the same work for every address: the request only enqueues a task
with the typed address, and the task looks the account up. So answer, status and timing of
the page say nothing about whether an account exists.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts.models import User
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core import context, tenancy
from meterkms.core.errors import DomainError
from meterkms.emails.enums import EmailKind
from meterkms.emails.models import EmailChange, PasswordReset
from meterkms.emails.services import checked_address, queue_email

TOKEN_BYTES = 32
#: Reset links a user may receive within :data:`THROTTLE_WINDOW` (more are dropped silently).
THROTTLE_COUNT = 3
THROTTLE_WINDOW = timedelta(minutes=15)
_CROSSING = "the account is found by its email address or a link's token, before any login"


def hash_token(token: str) -> str:
    """SHA-256 of a link token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def password_fingerprint(user: User) -> str:
    """A digest of the stored password hash: it changes with every password change."""
    return hashlib.sha256(f"meterkms-reset:{user.password}".encode()).hexdigest()


def _link(url_name: str, token: str) -> str:
    path = reverse(url_name, kwargs={"token": token})
    return settings.METERKMS_PUBLIC_URL.rstrip("/") + path


def invalid_link() -> DomainError:
    """The one answer for every unusable link: unknown, used, expired, superseded, dead."""
    return DomainError("invalid", _("This link is invalid or has expired."))


# --- forgot password ---------------------------------------------------------------------------


def request_password_reset(*, email: str) -> None:
    """Start "forgot password" for ``email``: the same single step for every address."""
    info = context.current()
    handle_password_reset_request.enqueue(
        email=email.strip()[:254],
        ip=info.ip or "",
        user_agent=info.user_agent,
        request_id=info.request_id,
    )


@task()
def handle_password_reset_request(*, email: str, ip: str, user_agent: str, request_id: str) -> None:
    """The task behind :func:`request_password_reset`, with the request's context."""
    info = context.RequestInfo(
        request_id=request_id, ip=ip or None, user_agent=user_agent, channel="web"
    )
    token = context.set_current(info)
    try:
        issue_password_reset(email=email)
    finally:
        context.reset(token)


@transaction.atomic
def issue_password_reset(*, email: str) -> PasswordReset | None:
    """Send a reset link to the active account with ``email``; None when there is none.

    Older unused links of the account stop working. More than :data:`THROTTLE_COUNT`
    requests within :data:`THROTTLE_WINDOW` send nothing (audited), so the address cannot be
    flooded.
    """
    with tenancy.crossing(_CROSSING):
        user = (
            User.objects.select_related("organisation")
            .filter(email__iexact=email.strip(), is_active=True)
            .first()
        )
    if user is None:
        record(Action.USER_PASSWORD_RESET_REQUESTED, data={"unknown_account": True})
        return None
    now = timezone.now()
    with tenancy.crossing(_CROSSING):
        recent = PasswordReset.objects.filter(
            user=user, created_at__gte=now - THROTTLE_WINDOW
        ).count()
        if recent >= THROTTLE_COUNT:
            record(
                Action.USER_PASSWORD_RESET_REQUESTED,
                organisation=user.organisation,
                target=user,
                data={"email": user.email, "throttled": True},
            )
            return None
        PasswordReset.objects.filter(user=user, used_at=None, superseded_at=None).update(
            superseded_at=now
        )
    token, digest = _new_token()
    reset = PasswordReset(
        user=user,
        token_hash=digest,
        email=user.email,
        password_fingerprint=password_fingerprint(user),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_MINUTES),
    )
    reset.save(force_insert=True)
    queue_email(
        kind=EmailKind.PASSWORD_RESET,
        to=user.email,
        recipient_name=user.name,
        language=user.language,
        organisation=user.organisation,
        context={"link": _link("web:password_reset_link", token), "expires_at": reset.expires_at},
    )
    record(
        Action.USER_PASSWORD_RESET_REQUESTED,
        organisation=user.organisation,
        target=user,
        data={"email": user.email},
    )
    return reset


def _usable_reset(reset: PasswordReset | None) -> PasswordReset | None:
    if reset is None or reset.used_at or reset.superseded_at:
        return None
    user = reset.user
    created = reset.created_at
    if (
        reset.expires_at <= timezone.now()
        or not user.is_active
        or user.email.lower() != reset.email.lower()
        or not secrets.compare_digest(reset.password_fingerprint, password_fingerprint(user))
        or (user.last_login is not None and user.last_login > created)
        or (user.password_changed_at is not None and user.password_changed_at > created)
    ):
        return None
    return reset


def check_password_reset(token: str) -> PasswordReset | None:
    """The usable reset behind ``token``, or None for every kind of unusable link."""
    with tenancy.crossing(_CROSSING):
        reset = (
            PasswordReset.objects.select_related("user", "user__organisation")
            .filter(token_hash=hash_token(token))
            .first()
        )
    return _usable_reset(reset)


@transaction.atomic
def reset_password(*, token: str, new_password: str, confirmation: str) -> User:
    """Set a new password through a reset link; the link then dies, and so do the others.

    The password policy applies; a refused password leaves the link usable for another try.
    A throttled account (too many failed logins) can log in again afterwards. The user is
    not logged in here: the next login still goes through every check (and a second factor).
    """
    with tenancy.crossing(_CROSSING):
        locked = (
            PasswordReset.objects.select_for_update()
            .filter(token_hash=hash_token(token))
            .select_related("user", "user__organisation")
            .first()
        )
    reset = _usable_reset(locked)
    if reset is None:
        raise invalid_link()
    user = reset.user
    if new_password != confirmation:
        message = _("The two passwords differ.")
        raise DomainError(
            "invalid", message, details=[{"field": "confirmation", "message": message}]
        )
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise DomainError(
            "invalid",
            " ".join(str(message) for message in exc.messages),
            details=[{"field": "new_password", "message": str(m)} for m in exc.messages],
        ) from None
    now = timezone.now()
    with tenancy.crossing(_CROSSING):
        if not PasswordReset.objects.filter(pk=reset.pk, used_at=None).update(used_at=now):
            raise invalid_link()
        PasswordReset.objects.filter(user=user, used_at=None, superseded_at=None).update(
            superseded_at=now
        )
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = now
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    _unlock(user.email)
    record(Action.USER_PASSWORD_RESET, actor=user, target=user, data={"email": user.email})
    return user


def _unlock(email: str) -> None:
    """Lift the login throttle of the account, whatever case the failed attempts used."""
    from axes.models import AccessAttempt
    from axes.utils import reset as axes_reset

    typed = set(
        AccessAttempt.objects.filter(username__iexact=email).values_list("username", flat=True)
    )
    for username in typed | {email}:
        axes_reset(username=username)


# --- confirm a new email address ----------------------------------------------------------------


@transaction.atomic
def request_email_change(
    *, user: User, new_email: str, actor: User, channel: str | None = None
) -> EmailChange:
    """Send a confirmation link to ``new_email``; the address changes only once it is used.

    Whether another account uses the address is not told here (that would reveal other
    accounts); the confirmation refuses it instead.
    """
    address = checked_address(new_email)
    if address == user.email.lower():
        message = _("This is the current email address.")
        raise DomainError("invalid", message, details=[{"field": "new_email", "message": message}])
    now = timezone.now()
    with tenancy.crossing(_CROSSING):
        EmailChange.objects.filter(user=user, confirmed_at=None, cancelled_at=None).update(
            cancelled_at=now
        )
    token, digest = _new_token()
    change = EmailChange(
        user=user,
        old_email=user.email,
        new_email=address,
        token_hash=digest,
        created_at=now,
        expires_at=now + timedelta(hours=settings.EMAIL_CONFIRM_HOURS),
    )
    change.save(force_insert=True)
    queue_email(
        kind=EmailKind.CONFIRM_EMAIL,
        to=address,
        recipient_name=user.name,
        language=user.language,
        organisation=user.organisation,
        context={"link": _link("web:email_confirm_link", token), "expires_at": change.expires_at},
    )
    record(
        Action.USER_EMAIL_CHANGE_REQUESTED,
        actor=actor,
        organisation=user.organisation,
        target=user,
        data={"new_email": address},
        channel=channel,
    )
    return change


def pending_email_change(user: User) -> EmailChange | None:
    """The user's change that still waits for confirmation, if any."""
    with tenancy.crossing(_CROSSING):
        change = (
            EmailChange.objects.filter(user=user, confirmed_at=None, cancelled_at=None)
            .order_by("-created_at")
            .first()
        )
    return change if change is not None and change.expires_at > timezone.now() else None


@transaction.atomic
def cancel_email_change(*, user: User) -> None:
    """Withdraw the pending change; its link stops working."""
    with tenancy.crossing(_CROSSING):
        EmailChange.objects.filter(user=user, confirmed_at=None, cancelled_at=None).update(
            cancelled_at=timezone.now()
        )


def _usable_change(change: EmailChange | None) -> EmailChange | None:
    if change is None or change.confirmed_at or change.cancelled_at:
        return None
    user = change.user
    if (
        change.expires_at <= timezone.now()
        or not user.is_active
        or user.email.lower() != change.old_email.lower()
    ):
        return None
    return change


def check_email_change(token: str) -> EmailChange | None:
    """The usable change behind ``token``, or None."""
    with tenancy.crossing(_CROSSING):
        change = (
            EmailChange.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        )
    return _usable_change(change)


@transaction.atomic
def confirm_email_change(*, token: str) -> User:
    """Make the new address the account's login; the link then dies."""
    with tenancy.crossing(_CROSSING):
        locked = (
            EmailChange.objects.select_for_update()
            .select_related("user", "user__organisation")
            .filter(token_hash=hash_token(token))
            .first()
        )
        change = _usable_change(locked)
        if change is None:
            raise invalid_link()
        user = change.user
        taken = User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists()
    if taken:
        raise DomainError(
            "conflict",
            _("Another account uses this address already; ask your administrator."),
        )
    now = timezone.now()
    user.email = change.new_email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        raise DomainError(
            "conflict",
            _("Another account uses this address already; ask your administrator."),
        ) from None
    with tenancy.crossing(_CROSSING):
        EmailChange.objects.filter(pk=change.pk).update(confirmed_at=now)
    record(
        Action.USER_EMAIL_CHANGED,
        actor=user,
        organisation=user.organisation,
        target=user,
        data={"old_email": change.old_email, "new_email": change.new_email},
    )
    return user
