"""The local provider: loading and refusing master keys, creating key files."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest

from meterkms.vault.errors import MasterKeyError
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.providers.local import create_key_file, master_key_version

BARBICAN_DEFAULT = "dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg="


def write_key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(mode)
    return path


def open_file(path: Path, **options: object):
    return open_provider(LocalKeyConfig(key_file=path, **options))  # type: ignore[arg-type]


# -- refusing to start -----------------------------------------------------------------------------


def test_missing_key_file_is_refused_naming_the_file(tmp_path: Path):
    missing = tmp_path / "nowhere.key"
    with pytest.raises(MasterKeyError, match=f"{missing} does not exist"):
        open_file(missing)


def test_unreadable_key_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_key(tmp_path / "master.key", os.urandom(32).hex())

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    # Root reads a mode-000 file anyway, so the denial is simulated at the read.
    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(MasterKeyError, match="cannot be read: permission denied"):
        open_file(path)


def test_key_path_below_a_file_is_refused(tmp_path: Path):
    plain = write_key(tmp_path / "plain", "x")
    with pytest.raises(MasterKeyError, match="cannot be read"):
        open_file(plain / "master.key")


def test_directory_as_key_file_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError, match="not a regular file"):
        open_file(tmp_path)


def test_empty_key_file_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError, match="is empty"):
        open_file(write_key(tmp_path / "master.key", " \n"))


def test_oversized_key_file_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError, match="bytes; a key file"):
        open_file(write_key(tmp_path / "master.key", "ab" * 5000))


def test_15_byte_hex_key_is_refused_saying_its_length(tmp_path: Path):
    key = os.urandom(15).hex()
    with pytest.raises(MasterKeyError, match=r"30 hex digits \(15 bytes\)") as caught:
        open_file(write_key(tmp_path / "master.key", key))
    assert key not in str(caught.value)


def test_15_byte_base64_key_is_refused_saying_its_length():
    key = base64.b64encode(os.urandom(15)).decode()
    with pytest.raises(MasterKeyError, match="15-byte key") as caught:
        open_provider(LocalKeyConfig(key=key))
    assert key not in str(caught.value)


def test_odd_number_of_hex_digits_is_refused():
    with pytest.raises(MasterKeyError, match="63 hex digits"):
        open_provider(LocalKeyConfig(key=os.urandom(32).hex()[:-1]))


def test_text_that_is_neither_hex_nor_base64_is_refused():
    with pytest.raises(MasterKeyError, match="neither 64 hex digits nor base64"):
        open_provider(LocalKeyConfig(key="thirty_two_byte_keyblahblahblahh"))


def test_all_zero_key_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError, match="all zeros"):
        open_file(write_key(tmp_path / "master.key", "00" * 32))


@pytest.mark.parametrize("byte", ["11", "ff", "a5"])
def test_key_of_one_repeated_byte_is_refused(byte: str):
    with pytest.raises(MasterKeyError, match="unusable as a master key"):
        open_provider(LocalKeyConfig(key=byte * 32))


def test_barbican_default_key_is_refused_by_name():
    with pytest.raises(MasterKeyError, match="OpenStack Barbican"):
        open_provider(LocalKeyConfig(key=BARBICAN_DEFAULT))


def test_barbican_default_key_in_hex_is_refused_too():
    with pytest.raises(MasterKeyError, match="OpenStack Barbican"):
        open_provider(LocalKeyConfig(key=b"thirty_two_byte_keyblahblahblahh".hex()))


@pytest.mark.parametrize(
    "published",
    [
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
    ],
)
def test_published_example_keys_are_refused(published: str):
    with pytest.raises(MasterKeyError, match="published example key"):
        open_provider(LocalKeyConfig(key=published))


def test_a_typed_password_is_refused_as_text():
    typed = base64.b64encode(b"Correct horse battery staple 42!").decode()
    with pytest.raises(MasterKeyError, match="printable text"):
        open_provider(LocalKeyConfig(key=typed))


def test_previous_key_equal_to_the_current_key_is_refused():
    key = os.urandom(32).hex()
    with pytest.raises(MasterKeyError, match="same key"):
        open_provider(LocalKeyConfig(key=key, previous_keys=(key.upper(),)))


def test_bad_previous_key_file_is_refused(tmp_path: Path):
    current = write_key(tmp_path / "current.key", os.urandom(32).hex())
    with pytest.raises(MasterKeyError, match=r"previous master key file .* does not exist"):
        open_file(current, previous_key_files=(tmp_path / "gone.key",))


@pytest.mark.parametrize("given", [{}, {"key": "ab" * 32, "key_file": Path("/x")}])
def test_config_needs_exactly_one_of_file_and_key(given: dict):
    with pytest.raises(MasterKeyError, match="exactly one"):
        LocalKeyConfig(**given)


# -- accepting -------------------------------------------------------------------------------------


def test_hex_key_with_whitespace_and_upper_case_loads(tmp_path: Path):
    key = os.urandom(32)
    spaced = " ".join(key.hex().upper()[i : i + 8] for i in range(0, 64, 8))
    with open_file(write_key(tmp_path / "master.key", f"\n  {spaced}\n\n")) as provider:
        assert provider.key_version == master_key_version(key)


def test_base64_key_with_trailing_newline_loads(tmp_path: Path):
    key = os.urandom(32)
    text = base64.b64encode(key).decode() + "\n"
    with open_file(write_key(tmp_path / "master.key", text)) as provider:
        assert provider.key_version == master_key_version(key)


def test_group_readable_key_file_loads_with_a_warning(tmp_path: Path, caplog):
    path = write_key(tmp_path / "master.key", os.urandom(32).hex(), mode=0o640)
    with caplog.at_level(logging.WARNING, logger="meterkms.vault"), open_file(path):
        pass
    assert "accessible by group or others (mode 0640)" in caplog.text


def test_group_readable_key_file_is_refused_when_strict(tmp_path: Path):
    path = write_key(tmp_path / "master.key", os.urandom(32).hex(), mode=0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        open_file(path, strict_permissions=True)


def test_private_key_file_loads_without_warning_when_strict(tmp_path: Path, caplog):
    path = write_key(tmp_path / "master.key", os.urandom(32).hex())
    with caplog.at_level(logging.WARNING, logger="meterkms.vault"):
        open_file(path, strict_permissions=True).close()
    assert caplog.text == ""


def test_version_id_does_not_reveal_the_key():
    key = os.urandom(32)
    version = master_key_version(key)
    assert version.startswith("local:")
    assert len(version) == len("local:") + 16
    assert key.hex()[:16] not in version


def test_config_repr_hides_the_key():
    key = os.urandom(32).hex()
    config = LocalKeyConfig(key=key, previous_keys=(os.urandom(32).hex(),))
    assert key not in repr(config)
    assert config.previous_keys[0] not in repr(config)


# -- creating key files ----------------------------------------------------------------------------


def test_created_key_file_is_private_hex_and_loads(tmp_path: Path):
    path = tmp_path / "master.key"
    version = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert len(text.strip()) == 64
    assert text.endswith("\n")
    with open_file(path, strict_permissions=True) as provider:
        assert provider.key_version == version


def test_create_key_file_refuses_to_overwrite(tmp_path: Path):
    path = tmp_path / "master.key"
    create_key_file(path)
    before = path.read_text()
    with pytest.raises(MasterKeyError, match="refusing to overwrite"):
        create_key_file(path)
    assert path.read_text() == before


def test_create_key_file_refuses_a_dangling_symlink(tmp_path: Path):
    link = tmp_path / "master.key"
    link.symlink_to(tmp_path / "elsewhere.key")
    with pytest.raises(MasterKeyError, match="refusing to overwrite"):
        create_key_file(link)
    assert not (tmp_path / "elsewhere.key").exists()


def test_create_key_file_leaves_no_temporary_files(tmp_path: Path):
    create_key_file(tmp_path / "a.key")
    create_key_file(tmp_path / "b.key")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.key", "b.key"]
    assert (tmp_path / "a.key").read_text() != (tmp_path / "b.key").read_text()


def test_create_key_file_in_a_missing_directory_is_refused(tmp_path: Path):
    with pytest.raises(MasterKeyError, match="cannot create a key file"):
        create_key_file(tmp_path / "missing" / "master.key")
