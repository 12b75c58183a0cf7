"""Provider parity: the same key-store suite on local, PKCS#11 (SoftHSM2) and AWS KMS (moto).

Every test runs once per provider kind through the ``kit``/``provider`` fixtures
(tests/vault/conftest.py). The canaries in test_canaries.py prove that the emulators really
check what these tests rely on.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from meterkms.vault.checkblob import create_check_blob, refresh_check_blob, verify_check_blob
from meterkms.vault.datakeys import DataKeyRecord
from meterkms.vault.engine import Vault
from meterkms.vault.errors import (
    MasterKeyError,
    UnknownMasterKeyVersionError,
    VaultError,
    VaultIntegrityError,
    WrappedKeyIntegrityError,
    WrongMasterKeyError,
)
from meterkms.vault.providers.base import WrappedKey
from meterkms.vault.rotation import rewrap_data_keys, unreferenced_versions
from meterkms.vault.store import InMemoryDataKeyStore

from ..conftest import ProviderKit


def ctx(**extra: str) -> dict[str, str]:
    context = {"purpose": "test", "data_key_id": "0f1e2d3c", "scope": "org:alpha"}
    context.update(extra)
    return context


# -- wrapping basics -------------------------------------------------------------------------------


def test_generate_data_key_returns_32_bytes_and_their_wrapping(provider):
    plaintext, wrapped = provider.generate_data_key(ctx())
    assert len(plaintext) == 32
    assert provider.unwrap(wrapped, ctx()) == plaintext


def test_generated_data_keys_differ(provider):
    keys = {provider.generate_data_key(ctx())[0] for _ in range(5)}
    assert len(keys) == 5


def test_wrap_then_unwrap_returns_the_same_bytes(provider):
    plaintext = os.urandom(32)
    assert provider.unwrap(provider.wrap(plaintext, ctx()), ctx()) == plaintext


def test_wrapping_does_not_contain_the_plaintext(provider):
    plaintext = os.urandom(32)
    wrapped = provider.wrap(plaintext, ctx())
    assert plaintext not in wrapped.ciphertext
    assert plaintext[:8] not in wrapped.ciphertext


def test_two_wraps_of_one_key_differ(provider):
    plaintext = os.urandom(32)
    assert provider.wrap(plaintext, ctx()).ciphertext != provider.wrap(plaintext, ctx()).ciphertext


def test_wrap_uses_the_current_master_key_version(provider):
    assert provider.wrap(os.urandom(32), ctx()).master_key_version == provider.key_version
    assert provider.generate_data_key(ctx())[1].master_key_version == provider.key_version


def test_key_version_names_the_provider_kind(kit: ProviderKit, provider):
    assert provider.kind == kit.kind
    assert provider.key_version.startswith(f"{kit.kind}:")


def test_key_version_is_stable_across_reopening(kit: ProviderKit, provider):
    with kit.make() as again:
        assert again.key_version == provider.key_version


def test_different_master_keys_have_different_versions(kit: ProviderKit, provider):
    with kit.make_other() as other:
        assert other.key_version != provider.key_version


def test_known_versions_start_with_the_current_version(kit: ProviderKit, provider):
    assert provider.known_versions == (provider.key_version,)
    with kit.make_rotated() as rotated:
        assert rotated.known_versions == (rotated.key_version, provider.key_version)


# -- context binding -------------------------------------------------------------------------------


def test_unwrap_with_another_context_value_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(wrapped, ctx(scope="org:beta"))


def test_unwrap_with_an_extra_context_entry_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(wrapped, ctx(extra="1"))


def test_unwrap_with_a_missing_context_entry_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    smaller = ctx()
    del smaller["scope"]
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(wrapped, smaller)


def test_unwrap_with_a_renamed_context_key_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    renamed = ctx()
    renamed["tenant"] = renamed.pop("scope")
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(wrapped, renamed)


def test_unwrap_with_swapped_context_values_fails(provider):
    wrapped = provider.wrap(os.urandom(32), {"a": "1", "b": "2"})
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(wrapped, {"a": "2", "b": "1"})


def test_context_order_does_not_matter(provider):
    plaintext = os.urandom(32)
    wrapped = provider.wrap(plaintext, {"a": "1", "b": "2", "c": "3"})
    assert provider.unwrap(wrapped, {"c": "3", "a": "1", "b": "2"}) == plaintext


def test_unicode_context_values_round_trip(provider):
    plaintext = os.urandom(32)
    context = ctx(scope="org:Zähler-Wärme-µ")
    assert provider.unwrap(provider.wrap(plaintext, context), context) == plaintext


def test_empty_context_is_refused(provider):
    with pytest.raises(VaultError):
        provider.wrap(os.urandom(32), {})


def test_context_with_non_string_value_is_refused(provider):
    with pytest.raises(VaultError):
        provider.wrap(os.urandom(32), {"data_key_id": 7})  # type: ignore[dict-item]


def test_context_with_nul_is_refused(provider):
    with pytest.raises(VaultError):
        provider.wrap(os.urandom(32), {"scope": "org:a\x00org:b"})


# -- integrity of the wrapping ---------------------------------------------------------------------


def _edited(wrapped: WrappedKey, ciphertext: bytes) -> WrappedKey:
    return WrappedKey(wrapped.master_key_version, ciphertext)


def test_flipping_any_sampled_bit_of_the_wrapping_fails(provider):
    plaintext = os.urandom(32)
    wrapped = provider.wrap(plaintext, ctx())
    data = wrapped.ciphertext
    positions = sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 17, len(data) - 1})
    for position in positions:
        for bit in (0, 7):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            with pytest.raises(VaultError):
                provider.unwrap(_edited(wrapped, bytes(flipped)), ctx())


def test_truncated_wrapping_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(VaultError):
        provider.unwrap(_edited(wrapped, wrapped.ciphertext[:-1]), ctx())


def test_extended_wrapping_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(VaultError):
        provider.unwrap(_edited(wrapped, wrapped.ciphertext + b"\x00"), ctx())


def test_empty_wrapping_fails(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(VaultError):
        provider.unwrap(_edited(wrapped, b""), ctx())


def test_wrapping_of_another_data_key_does_not_open_under_this_context(provider):
    first = provider.wrap(os.urandom(32), ctx(data_key_id="first"))
    second = provider.wrap(os.urandom(32), ctx(data_key_id="second"))
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(second, ctx(data_key_id="first"))
    with pytest.raises(WrappedKeyIntegrityError):
        provider.unwrap(first, ctx(data_key_id="second"))


def test_integrity_failure_is_an_integrity_error(provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with pytest.raises(VaultIntegrityError, match="does not open"):
        provider.unwrap(wrapped, ctx(purpose="other"))


# -- master-key versions ---------------------------------------------------------------------------


def test_unwrap_of_an_unknown_version_names_the_version(provider):
    wrapped = WrappedKey("local:00000000deadbeef", os.urandom(61))
    with pytest.raises(UnknownMasterKeyVersionError, match="local:00000000deadbeef"):
        provider.unwrap(wrapped, ctx())


def test_wrapping_relabelled_to_another_known_version_fails(kit: ProviderKit):
    with kit.make_rotated() as rotated:
        wrapped = rotated.wrap(os.urandom(32), ctx())
        relabelled = WrappedKey(rotated.known_versions[1], wrapped.ciphertext)
        with pytest.raises(VaultError):
            rotated.unwrap(relabelled, ctx())


def test_rotated_provider_unwraps_data_wrapped_by_its_previous_key(kit: ProviderKit, provider):
    plaintext = os.urandom(32)
    wrapped = provider.wrap(plaintext, ctx())
    with kit.make_rotated() as rotated:
        assert rotated.unwrap(wrapped, ctx()) == plaintext


def test_rotated_provider_wraps_with_the_new_key(kit: ProviderKit, provider):
    with kit.make_rotated() as rotated:
        wrapped = rotated.wrap(os.urandom(32), ctx())
        assert wrapped.master_key_version == rotated.key_version != provider.key_version
        with pytest.raises(UnknownMasterKeyVersionError):
            provider.unwrap(wrapped, ctx())


def test_other_master_key_cannot_unwrap(kit: ProviderKit, provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with kit.make_other() as other, pytest.raises(UnknownMasterKeyVersionError):
        other.unwrap(wrapped, ctx())


def test_other_master_key_claiming_the_version_cannot_unwrap(kit: ProviderKit, provider):
    wrapped = provider.wrap(os.urandom(32), ctx())
    with kit.make_other() as other:
        disguised = WrappedKey(other.key_version, wrapped.ciphertext)
        with pytest.raises(VaultError):
            other.unwrap(disguised, ctx())


# -- what may be wrapped ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrap_refuses_anything_but_a_32_byte_key(provider, size):
    with pytest.raises(VaultError, match="32 bytes"):
        provider.wrap(os.urandom(size), ctx())


# -- life cycle ------------------------------------------------------------------------------------


def test_health_check_reports_ok_with_version(kit: ProviderKit, provider):
    health = provider.health_check()
    assert health.ok, health.detail
    assert health.provider == kit.kind
    assert health.master_key_version == provider.key_version
    assert health.seconds >= 0


def test_closed_provider_refuses_to_wrap(kit: ProviderKit):
    opened = kit.make()
    opened.close()
    with pytest.raises(MasterKeyError, match="closed"):
        opened.wrap(os.urandom(32), ctx())


def test_closed_provider_refuses_to_unwrap(kit: ProviderKit):
    opened = kit.make()
    wrapped = opened.wrap(os.urandom(32), ctx())
    opened.close()
    with pytest.raises(MasterKeyError, match="closed"):
        opened.unwrap(wrapped, ctx())


def test_closed_provider_health_check_is_not_ok(kit: ProviderKit):
    opened = kit.make()
    opened.close()
    health = opened.health_check()
    assert not health.ok
    assert "closed" in health.detail


def test_close_twice_is_harmless(kit: ProviderKit):
    opened = kit.make()
    opened.close()
    opened.close()
    with pytest.raises(MasterKeyError):
        opened.generate_data_key(ctx())


def test_closing_one_provider_leaves_another_working(kit: ProviderKit, provider):
    second = kit.make()
    second.close()
    plaintext = os.urandom(32)
    assert provider.unwrap(provider.wrap(plaintext, ctx()), ctx()) == plaintext


def test_context_manager_closes_the_provider(kit: ProviderKit):
    with kit.make() as opened:
        wrapped = opened.wrap(os.urandom(32), ctx())
    with pytest.raises(MasterKeyError):
        opened.unwrap(wrapped, ctx())


# -- secrets stay inside ---------------------------------------------------------------------------


def test_repr_reveals_no_secret(kit: ProviderKit, provider):
    shown = repr(provider) + str(provider)
    for secret in kit.secrets:
        assert secret not in shown
    assert provider.key_version in repr(provider)


def test_errors_reveal_no_secret_and_no_data_key(kit: ProviderKit, provider):
    plaintext = os.urandom(32)
    wrapped = provider.wrap(plaintext, ctx())
    messages = []
    for attempt in (
        lambda: provider.unwrap(wrapped, ctx(scope="x")),
        lambda: provider.unwrap(_edited(wrapped, wrapped.ciphertext[:-2]), ctx()),
        lambda: provider.unwrap(WrappedKey("nope", wrapped.ciphertext), ctx()),
        lambda: provider.wrap(plaintext[:16], ctx()),
    ):
        with pytest.raises(VaultError) as caught:
            attempt()
        messages.append(str(caught.value) + repr(caught.value))
    text = " ".join(messages)
    for secret in [*kit.secrets, plaintext.hex(), plaintext.hex().upper()]:
        assert secret not in text


# -- concurrency -----------------------------------------------------------------------------------


def test_four_threads_wrap_and_unwrap_concurrently(provider):
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(15):
                plaintext = os.urandom(32)
                assert provider.unwrap(provider.wrap(plaintext, ctx()), ctx()) == plaintext
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert failures == []


# -- check blob ------------------------------------------------------------------------------------


def test_check_blob_verifies_with_the_same_key(kit: ProviderKit, provider):
    blob = create_check_blob(provider)
    with kit.make() as again:
        assert verify_check_blob(again, blob) == provider.key_version


def test_check_blob_fails_with_another_master_key(kit: ProviderKit, provider):
    blob = create_check_blob(provider)
    with kit.make_other() as other, pytest.raises(WrongMasterKeyError, match="wrong key"):
        verify_check_blob(other, blob)


def test_check_blob_with_edited_digest_fails(provider):
    blob = bytearray(create_check_blob(provider))
    digest_at = 5 + 2 + len(provider.key_version.encode())
    blob[digest_at] ^= 0x01
    with pytest.raises(WrongMasterKeyError):
        verify_check_blob(provider, bytes(blob))


def test_check_blob_with_edited_wrapping_fails(provider):
    blob = bytearray(create_check_blob(provider))
    blob[-1] ^= 0x80
    with pytest.raises(WrongMasterKeyError):
        verify_check_blob(provider, bytes(blob))


def test_check_blob_of_previous_key_verifies_and_refreshes_to_current(kit, provider):
    old = create_check_blob(provider)
    with kit.make_rotated() as rotated:
        assert verify_check_blob(rotated, old) == provider.key_version
        new = refresh_check_blob(rotated, old)
        assert verify_check_blob(rotated, new) == rotated.key_version
    with pytest.raises(WrongMasterKeyError):
        verify_check_blob(provider, new)


def test_refresh_of_a_current_check_blob_returns_it_unchanged(provider):
    blob = create_check_blob(provider)
    assert refresh_check_blob(provider, blob) == blob


# -- the vault on each provider --------------------------------------------------------------------


def _seal_some(vault: Vault, scope: str = "org:alpha", count: int = 4) -> list[tuple]:
    rows = []
    for number in range(count):
        record, key = f"device-{number}", os.urandom(16)
        rows.append(
            (record, key, vault.seal(key, scope=scope, record=record, slot="OMS", version=1))
        )
    return rows


def _all_open(vault: Vault, rows: list[tuple], scope: str = "org:alpha") -> bool:
    return all(
        vault.unseal(blob, scope=scope, record=record, slot="OMS", version=1) == key
        for record, key, blob in rows
    )


def test_vault_seals_and_opens_through_the_provider(provider):
    vault = Vault(provider, InMemoryDataKeyStore())
    assert _all_open(vault, _seal_some(vault))


def test_vault_opens_blobs_with_a_reopened_provider_and_empty_cache(kit, provider):
    store = InMemoryDataKeyStore()
    rows = _seal_some(Vault(provider, store))
    with kit.make() as again:
        assert _all_open(Vault(again, store), rows)


def test_vault_on_another_master_key_cannot_open_blobs(kit, provider):
    store = InMemoryDataKeyStore()
    (record, _, blob), *_ = _seal_some(Vault(provider, store))
    with kit.make_other() as other, pytest.raises(VaultError):
        Vault(other, store).unseal(blob, scope="org:alpha", record=record, slot="OMS", version=1)


def test_data_key_record_with_edited_scope_does_not_unwrap(provider):
    store = InMemoryDataKeyStore()
    (record, _, blob), *_ = _seal_some(Vault(provider, store))
    dek = store.load(Vault.data_key_id(blob))
    store.replace_record(DataKeyRecord(dek.id, "org:beta", dek.wrapped))
    with pytest.raises(WrappedKeyIntegrityError):
        Vault(provider, store).unseal(blob, scope="org:beta", record=record, slot="OMS", version=1)


def test_data_key_records_with_swapped_wrappings_do_not_unwrap(provider):
    store = InMemoryDataKeyStore()
    vault = Vault(provider, store)
    (record_a, _, blob_a), *_ = _seal_some(vault, scope="org:alpha", count=1)
    _seal_some(vault, scope="org:beta", count=1)
    dek_a, dek_b = store.active("org:alpha"), store.active("org:beta")
    store.replace_record(DataKeyRecord(dek_a.id, dek_a.scope, dek_b.wrapped))
    with pytest.raises(WrappedKeyIntegrityError):
        Vault(provider, store).unseal(
            blob_a, scope="org:alpha", record=record_a, slot="OMS", version=1
        )


def test_rotate_data_key_keeps_old_blobs_readable(provider):
    vault = Vault(provider, InMemoryDataKeyStore())
    old_rows = _seal_some(vault)
    old_dek = Vault.data_key_id(old_rows[0][2])
    assert vault.rotate_data_key("org:alpha") != old_dek
    new_rows = _seal_some(vault)
    assert Vault.data_key_id(new_rows[0][2]) != old_dek
    assert _all_open(vault, old_rows + new_rows)


# -- master-key rotation ---------------------------------------------------------------------------


def _store_with_blobs(provider, scopes: int = 3) -> tuple[InMemoryDataKeyStore, dict[str, list]]:
    store = InMemoryDataKeyStore()
    vault = Vault(provider, store)
    rows = {f"org:{n}": _seal_some(vault, scope=f"org:{n}", count=2) for n in range(scopes)}
    return store, rows


def test_rewrap_moves_every_data_key_to_the_new_master_key(kit, provider):
    store, _ = _store_with_blobs(provider)
    with kit.make_rotated() as rotated:
        report = rewrap_data_keys(store, target=rotated)
        assert (report.rewrapped, report.failed, report.complete) == (3, {}, True)
        assert store.master_key_versions() == {rotated.key_version: 3}


def test_after_rewrap_blobs_open_with_the_new_key_alone(kit, provider):
    store, rows = _store_with_blobs(provider)
    with kit.make_rotated() as rotated:
        rewrap_data_keys(store, target=rotated)
    with kit.make_rotated() as rotated:
        vault = Vault(rotated, store)
        assert all(_all_open(vault, scope_rows, scope) for scope, scope_rows in rows.items())


def test_rewrap_twice_changes_nothing_the_second_time(kit, provider):
    store, _ = _store_with_blobs(provider)
    with kit.make_rotated() as rotated:
        rewrap_data_keys(store, target=rotated)
        before = {
            dek.id: dek.wrapped
            for dek in store.list_by_master_key_version(rotated.key_version, after=None, limit=100)
        }
        second = rewrap_data_keys(store, target=rotated)
        after = {
            dek.id: dek.wrapped
            for dek in store.list_by_master_key_version(rotated.key_version, after=None, limit=100)
        }
    assert (second.rewrapped, second.unchanged) == (0, 0)
    assert before == after


class _Crash(Exception):
    pass


def test_rewrap_resumes_after_a_crash_midway(kit, provider):
    store, rows = _store_with_blobs(provider, scopes=4)
    done = []

    def crash_after_two(report) -> None:
        done.append(report.rewrapped)
        if report.rewrapped >= 2:
            raise _Crash

    with kit.make_rotated() as rotated:
        with pytest.raises(_Crash):
            rewrap_data_keys(store, target=rotated, batch_size=2, progress=crash_after_two)
        assert store.master_key_versions() == {rotated.key_version: 2, provider.key_version: 2}
        report = rewrap_data_keys(store, target=rotated, batch_size=2)
        assert report.rewrapped == 2
        assert report.complete
        vault = Vault(rotated, store)
        assert all(_all_open(vault, scope_rows, scope) for scope, scope_rows in rows.items())


def test_unreferenced_versions_after_rewrap_name_the_old_key(kit, provider):
    store, _ = _store_with_blobs(provider)
    with kit.make_rotated() as rotated:
        assert unreferenced_versions(rotated, store) == ()
        rewrap_data_keys(store, target=rotated)
        assert unreferenced_versions(rotated, store) == (provider.key_version,)


def test_rewrap_without_the_old_key_stops_with_unknown_version(kit, provider):
    store, _ = _store_with_blobs(provider, scopes=1)
    with kit.make_other() as other, pytest.raises(UnknownMasterKeyVersionError):
        rewrap_data_keys(store, target=other)
    assert store.master_key_versions() == {provider.key_version: 1}


def test_rewrap_can_take_the_old_key_from_a_source_provider(kit, provider):
    store, rows = _store_with_blobs(provider, scopes=2)
    with kit.make_other() as other:
        report = rewrap_data_keys(store, target=other, sources=[provider])
        assert report.complete
        assert report.rewrapped == 2
        vault = Vault(other, store)
        assert all(_all_open(vault, scope_rows, scope) for scope, scope_rows in rows.items())


def test_data_key_ids_in_wrap_context_are_uuids(provider):
    vault = Vault(provider, InMemoryDataKeyStore())
    (_, _, blob), *_ = _seal_some(vault, count=1)
    assert isinstance(Vault.data_key_id(blob), uuid.UUID)
