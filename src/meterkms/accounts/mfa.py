"""The second factor: an authenticator app (TOTP) and single-use recovery codes.

Every state change of a user's second factor goes through this module: setting the app up
(:func:`begin`, :func:`confirm`), checking a code (:func:`verify`), new recovery codes
(:func:`regenerate_recovery_codes`) and removing it (:func:`remove_own`, or :func:`reset`
by an administrator). It never touches the session: the login and the re-authentication
(:mod:`meterkms.accounts.reauth`) record when a code was entered.

- TOTP as RFC 6238 with the settings every authenticator app knows: HMAC-SHA1, 6 digits,
  30-second steps, a 160-bit secret. A code of the current step or of one step before or
  after is accepted (clocks drift), and each step only once: a code seen once, or one of
  an older step than the last accepted, is refused.
- The secret is sealed by the vault, bound to the user; it is shown only while the user
  sets the app up.
- Ten recovery codes of 80 random bits each are made when the app is confirmed; each works
  once, and only their SHA-256 is stored.
- Five wrong codes in a row lock the app's codes for five minutes (recovery codes still
  work: at 80 bits they cannot be guessed).
- Key-download roles must have a second factor (``METERKMS_MFA_FOR_KEYS``, on by default):
  :func:`required_for`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from meterkms.accounts import guards
from meterkms.accounts.models import RecoveryCode, TotpDevice, User
from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.errors import DomainError
from meterkms.organisations.permissions import Perm
from meterkms.vault.runtime import get_vault

STEP_SECONDS = 30
DIGITS = 6
#: Steps before and after the current one whose codes are accepted too.
TOLERANCE_STEPS = 1
SECRET_BYTES = 20
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base-32 characters
MAX_FAILURES = 5
LOCK_SECONDS = 5 * 60
ISSUER = "meterkms"
#: Vault scope of the sealed secrets; each is bound to ``user:<id>``.
SCOPE = "system:mfa"
_SLOT = "totp"

#: The clock of the time steps; tests replace it to move time.
clock: Callable[[], float] = time.time


class Result(StrEnum):
    """What a checked code gave."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


def wrong_code_message(result: Result) -> str:
    """The message a form shows for a refused code."""
    if result is Result.LOCKED:
        return _("Too many wrong codes. Wait five minutes, or enter one of your recovery codes.")
    return _("The code is wrong or was used already.")


@dataclass(frozen=True)
class Enrolment:
    """What the user needs to set up the app: the secret as text, as a link and as QR code."""

    account: str
    secret: bytes

    @property
    def secret_text(self) -> str:
        """The secret in base 32, in groups of four (for typing it into the app)."""
        text = base64.b32encode(self.secret).decode().rstrip("=")
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))

    @property
    def uri(self) -> str:
        """The ``otpauth://`` link the QR code carries."""
        return _totp(self.secret).get_provisioning_uri(self.account, ISSUER)

    @property
    def qr_svg(self) -> str:
        """The link as an inline SVG QR code (no script, no style attribute)."""
        return segno.make(self.uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=True)  # noqa: S303 - RFC 6238 apps speak SHA-1


def _record_id(user: User) -> str:
    return f"user:{user.pk}"


def _seal(user: User, secret: bytes) -> bytes:
    vault = get_vault()
    vault.prepare(SCOPE, 1)
    return vault.seal(secret, scope=SCOPE, record=_record_id(user), slot=_SLOT, version=1)


def _unseal(device: TotpDevice) -> bytes:
    return get_vault().unseal(
        bytes(device.secret_sealed),
        scope=SCOPE,
        record=_record_id(device.user),
        slot=_SLOT,
        version=1,
    )


def _devices() -> Any:
    # The second factor is looked up by its user's id, also before login (no actor yet).
    return TotpDevice._base_manager


def _now() -> datetime:
    return datetime.fromtimestamp(clock(), tz=UTC)


def is_enabled(user: Any) -> bool:
    """True when ``user`` has a confirmed authenticator app."""
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return False
    return _devices().filter(user_id=user.pk, confirmed_at__isnull=False).exists()


def with_flag(users: Any) -> Any:
    """A queryset of users annotated with ``has_second_factor`` (one query for a whole page)."""
    confirmed = _devices().filter(user_id=OuterRef("pk"), confirmed_at__isnull=False)
    return users.annotate(has_second_factor=Exists(confirmed))


def required_for(user: Any) -> bool:
    """True when ``user``'s role may download keys and the setting asks for a second factor."""
    return bool(settings.METERKMS_MFA_FOR_KEYS) and user.has(Perm.KEYS_DOWNLOAD)


def enabled_since(user: User) -> datetime | None:
    """When the user's app was confirmed (None: no second factor)."""
    device = _devices().filter(user_id=user.pk, confirmed_at__isnull=False).first()
    return device.confirmed_at if device is not None else None


def remaining_recovery_codes(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return RecoveryCode._base_manager.filter(user_id=user.pk, used_at__isnull=True).count()


def begin(user: User) -> Enrolment:
    """Start setting up the app (a new secret); refused while a confirmed app exists.

    Seals outside any transaction (the vault commits its nonce budget first).
    """
    if is_enabled(user):
        raise DomainError("conflict", _("A second factor is set up already. Remove it first."))
    secret = os.urandom(SECRET_BYTES)
    sealed = _seal(user, secret)
    with transaction.atomic():
        _devices().update_or_create(
            user=user,
            defaults={
                "secret_sealed": sealed,
                "confirmed_at": None,
                "last_step": 0,
                "failures": 0,
                "locked_until": None,
                "created_at": timezone.now(),
            },
        )
    return Enrolment(user.email, secret)


def pending(user: User) -> Enrolment | None:
    """The enrolment the user started and has not confirmed yet (None: none)."""
    device = (
        _devices().select_related("user").filter(user_id=user.pk, confirmed_at__isnull=True).first()
    )
    return Enrolment(user.email, _unseal(device)) if device is not None else None


def _locked_device(user: User, *, confirmed: bool) -> TotpDevice | None:
    """The user's app (confirmed or still being set up), locked until the transaction ends."""
    devices = _devices().select_for_update().select_related("user")
    return devices.filter(user_id=user.pk, confirmed_at__isnull=not confirmed).first()


def _code_field_error(message: str) -> DomainError:
    return DomainError("invalid", message, details=[{"field": "code", "message": message}])


def confirm(*, user: User, code: str) -> list[str]:
    """Confirm the app with its first code; returns the new recovery codes (shown once)."""
    with transaction.atomic():
        device = _locked_device(user, confirmed=False)
        if device is None:
            raise _code_field_error(_("Start the set-up again: it was not started or ended."))
        step = _matching_step(device, code)
        if step is not None:
            device.confirmed_at = timezone.now()
            device.last_step = step
            device.failures = 0
            device.save(update_fields=["confirmed_at", "last_step", "failures"])
            codes = _replace_recovery_codes(user)
            record(Action.USER_MFA_ENABLED, actor=user, target=user)
            return codes
    raise _code_field_error(_("The code is wrong. Check the time of your device and try again."))


def verify(*, user: User, code: str, purpose: str) -> Result:
    """Check a code of the user's app, or one of their recovery codes; audited either way.

    ``purpose`` (``login``, ``reauth``) goes into the audit record.
    """
    with transaction.atomic():
        device = _locked_device(user, confirmed=True)
        if device is None:
            return Result.WRONG
        now = _now()
        locked = device.locked_until is not None and device.locked_until > now
        method = ""
        step = None if locked else _matching_step(device, code)
        if step is not None:
            device.last_step = step
            method = "totp"
        elif _use_recovery_code(user, code):
            method = "recovery_code"
        if method:
            device.failures = 0
            device.locked_until = None
            result = Result.OK
        elif locked:
            result = Result.LOCKED
        else:
            device.failures += 1
            result = Result.WRONG
            if device.failures >= MAX_FAILURES:
                device.failures = 0
                device.locked_until = now + timedelta(seconds=LOCK_SECONDS)
                result = Result.LOCKED
        device.save(update_fields=["last_step", "failures", "locked_until"])
        data: dict[str, Any] = {"purpose": purpose}
        if result is Result.OK:
            data["method"] = method
            if method == "recovery_code":
                data["recovery_codes_left"] = remaining_recovery_codes(user)
        else:
            data["locked"] = result is Result.LOCKED
        record(
            Action.USER_MFA_VERIFIED if result is Result.OK else Action.USER_MFA_FAILED,
            actor=user,
            target=user,
            data=data,
        )
    return result


def regenerate_recovery_codes(*, user: User) -> list[str]:
    """Replace the user's recovery codes by ten new ones (shown once)."""
    if not is_enabled(user):
        raise DomainError("conflict", _("Set up a second factor first."))
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record(Action.USER_RECOVERY_CODES_CREATED, actor=user, target=user)
    return codes


def remove_own(*, user: User) -> None:
    """The user removes their own second factor (the page asks for a fresh login first)."""
    _delete(user=user, actor=user, action=Action.USER_MFA_DISABLED)


def reset(*, actor: Any, user: User) -> None:
    """An administrator removes a user's second factor (a lost phone and lost codes).

    Needs ``users:manage``; only users of the actor's subtree whose role is not above the
    actor's own, never the actor's own account. A user of another tree is reported as
    missing.
    """
    guards.require_perm(actor, Perm.USERS_MANAGE)
    guards.require_manageable(actor, user)
    guards.require_not_self(actor, user, _("Remove your own second factor on your profile page."))
    _delete(user=user, actor=actor, action=Action.USER_MFA_RESET)


def reset_by_operator(*, user: User) -> bool:
    """The server's operator removes a user's second factor (``meterkms reset-second-factor``):
    the way back when the last administrator lost theirs. True when there was one."""
    return _delete(user=user, actor=None, action=Action.USER_MFA_RESET, channel="cli")


def _delete(*, user: User, actor: Any, action: Action, channel: str | None = None) -> bool:
    with transaction.atomic():
        deleted, _rows = _devices().filter(user_id=user.pk).delete()
        RecoveryCode._base_manager.filter(user_id=user.pk).delete()
        if deleted:
            record(
                action, actor=actor, organisation=user.organisation, target=user, channel=channel
            )
    return bool(deleted)


# -- codes ----------------------------------------------------------------------------------


def _digits(code: str) -> str | None:
    text = "".join(code.split())
    return text if len(text) == DIGITS and text.isascii() and text.isdigit() else None


def _matching_step(device: TotpDevice, code: str) -> int | None:
    """The time step whose code ``code`` is, if it is near now and newer than the last one."""
    digits = _digits(code)
    if digits is None:
        return None
    totp = _totp(_unseal(device))
    current = int(clock() // STEP_SECONDS)
    found = None
    for step in range(current - TOLERANCE_STEPS, current + TOLERANCE_STEPS + 1):
        expected = totp.generate(step * STEP_SECONDS).decode()
        if hmac.compare_digest(expected, digits) and step > device.last_step:
            found = step
    return found


def _normal_recovery_code(code: str) -> str | None:
    text = "".join(ch for ch in code.upper() if ch.isalnum())
    return text if len(text) == RECOVERY_CODE_BYTES * 8 // 5 else None


def _hash_recovery_code(normal: str) -> str:
    return hashlib.sha256(normal.encode()).hexdigest()


def _use_recovery_code(user: User, code: str) -> bool:
    normal = _normal_recovery_code(code)
    if normal is None:
        return False
    used = RecoveryCode._base_manager.filter(
        user_id=user.pk, code_hash=_hash_recovery_code(normal), used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode._base_manager.filter(user_id=user.pk).delete()
    codes = []
    for _index in range(RECOVERY_CODE_COUNT):
        normal = base64.b32encode(os.urandom(RECOVERY_CODE_BYTES)).decode()
        codes.append("-".join(normal[i : i + 4] for i in range(0, len(normal), 4)))
        RecoveryCode(user=user, code_hash=_hash_recovery_code(normal)).save(force_insert=True)
    return codes
