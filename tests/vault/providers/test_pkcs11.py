"""The PKCS#11 provider on SoftHSM2: refusals, process rules (lock, login, fork), recovery."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from meterkms.vault.errors import MasterKeyError, ProviderUnavailableError
from meterkms.vault.providers import open_provider

from ..conftest import SOFTHSM_PIN, SoftHsm

pytestmark = pytest.mark.softhsm

CONTEXT = {"purpose": "test", "scope": "org:alpha"}


def test_second_provider_with_a_different_pin_is_refused(softhsm: SoftHsm):
    with (
        open_provider(softhsm.config("kek-a")),
        pytest.raises(MasterKeyError, match="different PIN"),
    ):
        open_provider(softhsm.config("kek-b", pin="9999-other"))


def test_pin_can_come_from_a_file(softhsm: SoftHsm, tmp_path: Path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(SOFTHSM_PIN + "\n")
    with open_provider(softhsm.config("kek-a", pin=None, pin_file=pin_file)) as provider:
        assert provider.health_check().ok


def test_missing_token_is_refused(softhsm: SoftHsm):
    with pytest.raises(MasterKeyError, match="no PKCS#11 token labelled 'absent'"):
        open_provider(softhsm.config("kek-a", token_label="absent"))


def test_missing_key_is_refused_with_a_hint(softhsm: SoftHsm):
    with pytest.raises(MasterKeyError, match=r"no key labelled 'kek-zz'.*create_token_key"):
        open_provider(softhsm.config("kek-zz"))


def test_missing_module_is_refused(softhsm: SoftHsm, tmp_path: Path):
    with pytest.raises(MasterKeyError, match="cannot load PKCS#11 module"):
        open_provider(softhsm.config("kek-a", module=str(tmp_path / "libnothing.so")))


def test_extractable_key_is_refused(softhsm: SoftHsm):
    from pkcs11 import Attribute, KeyType

    from meterkms.vault.providers import pkcs11 as p11

    with open_provider(softhsm.config("kek-a")) as provider, p11._LOCK:
        session = p11._SESSIONS[(softhsm.module, "meterkms-suite")].session
        if not list(session.get_objects({Attribute.LABEL: "kek-extractable"})):
            session.generate_key(
                KeyType.AES,
                256,
                label="kek-extractable",
                store=True,
                template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False},
            )
        assert provider.key_version
    with pytest.raises(MasterKeyError, match="is extractable and is not sensitive"):
        open_provider(softhsm.config("kek-extractable"))


def test_create_token_key_refuses_a_taken_label(softhsm: SoftHsm):
    from meterkms.vault.providers.pkcs11 import create_token_key

    with pytest.raises(MasterKeyError, match="has 'kek-a' already"):
        create_token_key(softhsm.config("kek-a"))


def test_created_key_is_a_private_encrypt_only_token_object(softhsm: SoftHsm):
    from pkcs11 import Attribute

    from meterkms.vault.providers import pkcs11 as p11
    from meterkms.vault.providers.pkcs11 import create_token_key

    version = create_token_key(
        softhsm.config("kek-a"), label=f"kek-new-{os.getpid()}-{time.time_ns()}"
    )
    label, key_id = version.removeprefix("pkcs11:").split("/")
    assert len(key_id) == 32
    with open_provider(softhsm.config(label)) as provider, p11._LOCK:
        assert provider.key_version == version
        key = provider._key(version)
        assert key[Attribute.TOKEN] is True
        assert key[Attribute.PRIVATE] is True
        assert key[Attribute.WRAP] is False
        assert key[Attribute.UNWRAP] is False


def test_two_threads_hammering_the_token_do_not_hang(softhsm: SoftHsm):
    # Trap 4: without the process-wide lock SoftHSM livelocks with two threads.
    done = []
    with (
        open_provider(softhsm.config("kek-a")) as first,
        open_provider(softhsm.config("kek-b")) as second,
    ):

        def work(provider) -> None:  # type: ignore[no-untyped-def]
            for _ in range(300):
                plaintext = os.urandom(32)
                assert provider.unwrap(provider.wrap(plaintext, CONTEXT), CONTEXT) == plaintext
            done.append(provider.key_version)

        threads = [threading.Thread(target=work, args=(p,)) for p in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "PKCS#11 calls hung"
    assert sorted(done) == sorted([first.key_version, second.key_version])


def _wait_for_child(pid: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung")


def test_forked_child_reinitialises_and_unwraps_while_parent_keeps_working(softhsm: SoftHsm):
    with open_provider(softhsm.config("kek-a")) as provider:
        plaintext = os.urandom(32)
        wrapped = provider.wrap(plaintext, CONTEXT)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 3
            try:
                again = provider.wrap(plaintext, CONTEXT)
                ok = (
                    provider.unwrap(wrapped, CONTEXT)
                    == plaintext
                    == provider.unwrap(again, CONTEXT)
                )
                code = 0 if ok else 1
            finally:
                os._exit(code)
        assert _wait_for_child(pid, 30) == 0
        assert provider.unwrap(wrapped, CONTEXT) == plaintext


def test_lost_session_reports_unavailable_then_recovers(softhsm: SoftHsm):
    from meterkms.vault.providers import pkcs11 as p11

    with open_provider(softhsm.config("kek-a")) as provider:
        wrapped = provider.wrap(b"\x05" * 32, CONTEXT)
        with p11._LOCK:
            # The token drops our session (device reset, token re-plugged).
            p11._SESSIONS[(softhsm.module, "meterkms-suite")].session.close()
        with pytest.raises(ProviderUnavailableError, match="meterkms-suite"):
            provider.unwrap(wrapped, CONTEXT)
        assert provider.unwrap(wrapped, CONTEXT) == b"\x05" * 32
        assert provider.health_check().ok
