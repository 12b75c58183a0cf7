"""The second factor's service: set-up, codes once within ±1 step, recovery codes, lock, reset."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from meterkms.accounts import mfa
from meterkms.accounts.models import RecoveryCode, TotpDevice
from meterkms.audit.actions import Action
from meterkms.audit.models import AuditEvent
from meterkms.core.errors import DomainError, NotFound
from meterkms.vault.errors import BlobIntegrityError
from tests.support.mfa import code_at, current_step, enrol, secret_of
from tests.support.personas import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def step_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``step_clock(seconds)`` moves the clock of the time steps forward."""
    start = (current_step() + 10) * mfa.STEP_SECONDS + 1.0  # just after a step begins
    now = [start]
    monkeypatch.setattr(mfa, "clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def _events(action: Action) -> list[AuditEvent]:
    return list(AuditEvent._base_manager.filter(action=action).order_by("pk"))


def _dump_tables() -> bytes:
    """Every column of the second factor's tables, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_totpdevice")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM accounts_recoverycode")
        rows += cursor.fetchall()
    return b"|".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    )


def test_the_secret_and_the_recovery_codes_are_never_stored_in_clear(world: World) -> None:
    enrolment = mfa.begin(world.olga)
    secret = enrolment.secret
    assert len(secret) == mfa.SECRET_BYTES
    codes = mfa.confirm(user=world.olga, code=code_at(secret, current_step()))
    dump = _dump_tables()
    text = enrolment.secret_text.replace(" ", "").encode()
    for needle in (secret, secret.hex().encode(), text, base64.b64encode(secret)):
        assert needle not in dump
    assert len(codes) == mfa.RECOVERY_CODE_COUNT == len(set(codes))
    for code in codes:
        assert code.encode() not in dump
        assert code.replace("-", "").encode() not in dump
    assert RecoveryCode._base_manager.filter(user=world.olga).count() == 10


def test_the_enrolment_offers_the_secret_as_text_link_and_qr_code(world: World) -> None:
    enrolment = mfa.begin(world.olga)
    assert enrolment.uri.startswith("otpauth://totp/meterkms:olga%40example.com?")
    assert "digits=6" in enrolment.uri
    assert "period=30" in enrolment.uri
    assert enrolment.secret_text.replace(" ", "") in enrolment.uri
    assert enrolment.qr_svg.startswith("<svg")
    assert "<script" not in enrolment.qr_svg
    assert "style=" not in enrolment.qr_svg


def test_a_sealed_secret_does_not_open_for_another_user(world: World) -> None:
    enrol(world.olga)
    enrol(world.cecil)
    olga = TotpDevice._base_manager.get(user=world.olga)
    cecil = TotpDevice._base_manager.get(user=world.cecil)
    TotpDevice._base_manager.filter(pk=cecil.pk).update(secret_sealed=olga.secret_sealed)
    with pytest.raises(BlobIntegrityError):
        secret_of(world.cecil)


def test_beginning_again_replaces_an_unconfirmed_secret_but_not_a_confirmed_one(
    world: World,
) -> None:
    first = mfa.begin(world.olga)
    second = mfa.begin(world.olga)
    assert first.secret != second.secret
    assert mfa.pending(world.olga) == second
    assert not mfa.is_enabled(world.olga)
    with pytest.raises(DomainError, match="wrong"):
        mfa.confirm(user=world.olga, code=code_at(first.secret, current_step()))
    mfa.confirm(user=world.olga, code=code_at(second.secret, current_step()))
    assert mfa.is_enabled(world.olga)
    assert mfa.pending(world.olga) is None
    with pytest.raises(DomainError) as refused:
        mfa.begin(world.olga)
    assert refused.value.code == "conflict"
    assert len(_events(Action.USER_MFA_ENABLED)) == 1


def test_confirming_without_a_started_set_up_names_the_code_field(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        mfa.confirm(user=world.olga, code="123456")
    assert refused.value.details[0]["field"] == "code"


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_of_the_neighbouring_steps_are_accepted(
    world: World, step_clock: Any, offset: int
) -> None:
    enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    step = current_step() + offset
    code = code_at(secret_of(world.olga), step)
    assert mfa.verify(user=world.olga, code=code, purpose="login") is mfa.Result.OK


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_are_refused(world: World, step_clock: Any, offset: int) -> None:
    enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    code = code_at(secret_of(world.olga), current_step() + offset)
    current = {code_at(secret_of(world.olga), current_step() + d) for d in (-1, 0, 1)}
    if code in current:  # two steps share a code (one in a million): nothing to learn
        pytest.skip("the code coincides with an accepted one")
    assert mfa.verify(user=world.olga, code=code, purpose="login") is mfa.Result.WRONG


def test_a_code_is_accepted_once_and_older_steps_after_it_never(
    world: World, step_clock: Any
) -> None:
    enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    secret = secret_of(world.olga)
    now = current_step()
    assert mfa.verify(user=world.olga, code=code_at(secret, now), purpose="login") is mfa.Result.OK
    replay = mfa.verify(user=world.olga, code=code_at(secret, now), purpose="login")
    older = mfa.verify(user=world.olga, code=code_at(secret, now - 1), purpose="login")
    assert replay is older is mfa.Result.WRONG
    newer = mfa.verify(user=world.olga, code=code_at(secret, now + 1), purpose="login")
    assert newer is mfa.Result.OK
    assert TotpDevice._base_manager.get(user=world.olga).last_step == now + 1
    verified = _events(Action.USER_MFA_VERIFIED)[-1]
    assert verified.data == {"purpose": "login", "method": "totp"}


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_are_wrong_not_errors(world: World, garbage: str) -> None:
    enrol(world.olga)
    assert mfa.verify(user=world.olga, code=garbage, purpose="login") is mfa.Result.WRONG


def test_spaces_inside_a_code_are_ignored(world: World, step_clock: Any) -> None:
    enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    code = code_at(secret_of(world.olga), current_step())
    spaced = f" {code[:3]} {code[3:]} "
    assert mfa.verify(user=world.olga, code=spaced, purpose="login") is mfa.Result.OK


def test_a_recovery_code_works_once_in_any_spelling(world: World) -> None:
    codes = enrol(world.olga)
    first = codes[0].lower().replace("-", " ")
    assert mfa.verify(user=world.olga, code=first, purpose="login") is mfa.Result.OK
    assert mfa.verify(user=world.olga, code=codes[0], purpose="login") is mfa.Result.WRONG
    assert mfa.remaining_recovery_codes(world.olga) == 9
    event = _events(Action.USER_MFA_VERIFIED)[-1]
    assert event.data == {"purpose": "login", "method": "recovery_code", "recovery_codes_left": 9}


def test_another_users_recovery_code_does_not_work(world: World) -> None:
    enrol(world.olga)
    cecils = enrol(world.cecil)
    assert mfa.verify(user=world.olga, code=cecils[0], purpose="login") is mfa.Result.WRONG
    assert mfa.remaining_recovery_codes(world.cecil) == 10


def test_new_recovery_codes_replace_the_old_ones(world: World) -> None:
    old = enrol(world.olga)
    new = mfa.regenerate_recovery_codes(user=world.olga)
    assert not set(old) & set(new)
    assert mfa.verify(user=world.olga, code=old[1], purpose="login") is mfa.Result.WRONG
    assert mfa.verify(user=world.olga, code=new[1], purpose="login") is mfa.Result.OK
    assert len(_events(Action.USER_RECOVERY_CODES_CREATED)) == 1
    with pytest.raises(DomainError):
        mfa.regenerate_recovery_codes(user=world.bob)


def test_five_wrong_codes_lock_the_app_for_five_minutes_but_not_the_recovery_codes(
    world: World, step_clock: Any
) -> None:
    codes = enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    secret = secret_of(world.olga)
    right = code_at(secret, current_step())
    wrong = f"{(int(right) + 500_000) % 10**6:06d}"
    results = [
        mfa.verify(user=world.olga, code=wrong, purpose="login") for _ in range(mfa.MAX_FAILURES)
    ]
    assert results == [mfa.Result.WRONG] * (mfa.MAX_FAILURES - 1) + [mfa.Result.LOCKED]
    assert mfa.verify(user=world.olga, code=right, purpose="login") is mfa.Result.LOCKED
    assert _events(Action.USER_MFA_FAILED)[-1].data == {"purpose": "login", "locked": True}
    assert mfa.verify(user=world.olga, code=codes[0], purpose="login") is mfa.Result.OK
    # the recovery code proved the user: the app's codes work again at once
    assert mfa.verify(user=world.olga, code=right, purpose="login") is mfa.Result.OK


def test_the_lock_ends_after_five_minutes(world: World, step_clock: Any) -> None:
    enrol(world.olga)
    step_clock(10 * mfa.STEP_SECONDS)
    secret = secret_of(world.olga)
    wrong = f"{(int(code_at(secret, current_step())) + 500_000) % 10**6:06d}"
    for _ in range(mfa.MAX_FAILURES):
        mfa.verify(user=world.olga, code=wrong, purpose="login")
    step_clock(mfa.LOCK_SECONDS - mfa.STEP_SECONDS)
    early = code_at(secret, current_step())
    assert mfa.verify(user=world.olga, code=early, purpose="login") is mfa.Result.LOCKED
    step_clock(2 * mfa.STEP_SECONDS)
    late = code_at(secret, current_step())
    assert mfa.verify(user=world.olga, code=late, purpose="login") is mfa.Result.OK


def test_a_user_without_a_second_factor_has_no_code_that_works(world: World) -> None:
    mfa.begin(world.olga)  # started, never confirmed
    assert mfa.verify(user=world.olga, code="123456", purpose="login") is mfa.Result.WRONG
    assert not mfa.is_enabled(world.olga)


def test_a_user_removes_their_own_second_factor(world: World) -> None:
    enrol(world.olga)
    mfa.remove_own(user=world.olga)
    assert not mfa.is_enabled(world.olga)
    assert not RecoveryCode._base_manager.filter(user=world.olga).exists()
    event = _events(Action.USER_MFA_DISABLED)[0]
    assert event.actor_id == world.olga.pk
    assert event.target_id == str(world.olga.pk)


def test_an_administrator_resets_a_users_second_factor_within_the_rules(world: World) -> None:
    enrol(world.olga)
    enrol(world.cecil)
    enrol(world.adam)
    with pytest.raises(DomainError) as viewer:
        mfa.reset(actor=world.bob, user=world.olga)
    assert viewer.value.code == "forbidden"
    with pytest.raises(NotFound):
        mfa.reset(actor=world.adam, user=world.cecil)
    with pytest.raises(DomainError) as own:
        mfa.reset(actor=world.adam, user=world.adam)
    assert own.value.code == "forbidden"
    mfa.reset(actor=world.adam, user=world.olga)
    assert not mfa.is_enabled(world.olga)
    assert mfa.is_enabled(world.cecil)
    assert mfa.is_enabled(world.adam)
    event = _events(Action.USER_MFA_RESET)[0]
    assert (event.actor_id, event.target_id) == (world.adam.pk, str(world.olga.pk))


def test_key_download_roles_need_a_second_factor_unless_switched_off(
    world: World, settings: Any
) -> None:
    assert mfa.required_for(world.olga)
    assert mfa.required_for(world.adam)
    assert not mfa.required_for(world.bob)  # a viewer cannot download keys
    settings.METERKMS_MFA_FOR_KEYS = False
    assert not mfa.required_for(world.olga)


def test_the_operator_resets_a_second_factor_on_the_command_line(world: World) -> None:
    enrol(world.alice)
    out = io.StringIO()
    call_command("reset_second_factor", email="ALICE@example.com", stdout=out)
    assert "has been removed" in out.getvalue()
    assert not mfa.is_enabled(world.alice)
    event = _events(Action.USER_MFA_RESET)[0]
    assert event.actor_id is None
    assert event.channel == "cli"
    call_command("reset_second_factor", email="alice@example.com", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert len(_events(Action.USER_MFA_RESET)) == 1
    with pytest.raises(CommandError, match="no user"):
        call_command("reset_second_factor", email="nobody@example.com")
