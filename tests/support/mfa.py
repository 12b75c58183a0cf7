"""Second factors for tests: set one up through the service, and compute the next code."""

from __future__ import annotations

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from meterkms.accounts import mfa
from meterkms.accounts.models import TotpDevice, User
from meterkms.vault.runtime import get_vault


def code_at(secret: bytes, step: int) -> str:
    """The code of ``secret`` for time step ``step`` (as an authenticator app computes it)."""
    totp = TOTP(secret, mfa.DIGITS, SHA1(), mfa.STEP_SECONDS, enforce_key_length=True)
    return totp.generate(step * mfa.STEP_SECONDS).decode()


def current_step() -> int:
    return int(mfa.clock() // mfa.STEP_SECONDS)


def secret_of(user: User) -> bytes:
    """The user's TOTP secret, opened by the vault as the service does."""
    device = TotpDevice._base_manager.get(user_id=user.pk)
    return get_vault().unseal(
        bytes(device.secret_sealed),
        scope=mfa.SCOPE,
        record=f"user:{user.pk}",
        slot="totp",
        version=1,
    )


def enrol(user: User) -> list[str]:
    """Set up an authenticator app for ``user`` (begin + confirm); returns the recovery codes."""
    enrolment = mfa.begin(user)
    return mfa.confirm(user=user, code=code_at(enrolment.secret, current_step()))


def next_code(user: User) -> str:
    """A code the service accepts now: of this step, or of the next if this one is used."""
    device = TotpDevice._base_manager.get(user_id=user.pk)
    step = max(current_step(), device.last_step + 1)
    assert step <= current_step() + mfa.TOLERANCE_STEPS, "move mfa.clock on: no code left"
    return code_at(secret_of(user), step)
