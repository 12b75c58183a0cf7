"""The provider interface helpers: wrap-context checks and the context encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.vault.errors import VaultError
from meterkms.vault.providers import open_provider
from meterkms.vault.providers.base import WrappedKey, context_aad, validate_context

texts = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
)
contexts = st.dictionaries(texts, texts, min_size=1, max_size=4)


@given(contexts, contexts)
def test_context_encoding_is_injective(first: dict, second: dict):
    if first != second:
        assert context_aad("v", first) != context_aad("v", second)


@given(contexts)
def test_context_encoding_ignores_insertion_order(context: dict):
    reversed_order = dict(reversed(list(context.items())))
    assert context_aad("v", context) == context_aad("v", reversed_order)


def test_context_encoding_includes_the_master_key_version():
    assert context_aad("local:1", {"a": "b"}) != context_aad("local:2", {"a": "b"})


def test_context_encoding_cannot_be_confused_by_moving_a_boundary():
    assert context_aad("v", {"ab": "c"}) != context_aad("v", {"a": "bc"})


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"": "x"},
        {"x": ""},
        {"x": "a\x00b"},
        {"x": 1},
        {1: "x"},
        {"x": "y" * 3000},
        {"x": "\ud800"},
    ],
)
def test_unusable_contexts_are_refused(context: dict):
    with pytest.raises(VaultError):
        validate_context(context)


def test_wrapped_key_repr_shows_no_ciphertext():
    wrapped = WrappedKey("local:abc", bytes(range(61)))
    assert repr(wrapped) == "WrappedKey('local:abc', 61 bytes)"


def test_open_provider_refuses_something_that_is_not_a_config():
    with pytest.raises(TypeError, match="not a master-key provider config"):
        open_provider({"provider": "local"})  # type: ignore[arg-type]
