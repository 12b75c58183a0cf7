import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkms.devices.enums import KeySlot
from meterkms.devices.importers import fields
from meterkms.devices.importers.fields import FieldError
from meterkms.vault.algorithms import Algorithm


@pytest.mark.parametrize("text", ["A1", "0001234", "AMT-2024/07.x_1", "a" * 64])
def test_serial_keeps_letters_and_leading_zeros(text):
    assert fields.serial(text) == text


@pytest.mark.parametrize("text", ["=A1", "-1", " A1", "A 1", "a" * 65, "ä1", "A1;", "+49"])
def test_serial_with_bad_characters_or_length_is_refused(text):
    with pytest.raises(FieldError):
        fields.serial(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00112233445566778899aabbccddeeff", "00112233445566778899AABBCCDDEEFF"),
        ("0x00112233445566778899AABBCCDDEEFF", "00112233445566778899AABBCCDDEEFF"),
        ("00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF", "00112233445566778899AABBCCDDEEFF"),
        ("00:11:22:33:44:55:66:77", "0011223344556677"),
        ("00-11-22-33", "00112233"),
    ],
)
def test_key_separators_and_prefix_are_dropped_and_case_raised(text, expected):
    assert fields.key_hex(text) == expected


def test_key_with_odd_digit_count_names_the_count_only():
    with pytest.raises(FieldError) as problem:
        fields.key_hex("0011223344556677889")
    assert "19" in str(problem.value)
    assert "0011" not in str(problem.value)


@given(st.binary(min_size=1, max_size=40))
def test_any_key_bytes_written_as_hex_come_back_as_the_same_hex(key):
    assert fields.key_hex(key.hex()) == key.hex().upper()
    assert bytes.fromhex(fields.key_hex(" ".join(f"{b:02x}" for b in key))) == key


@given(st.text(max_size=40))
def test_key_syntax_either_normalises_to_even_hex_or_refuses_without_quoting(text):
    outcome: str | FieldError
    try:
        outcome = fields.key_hex(text)
    except FieldError as problem:
        outcome = problem
    if isinstance(outcome, FieldError):
        stripped = text.strip()
        assert len(stripped) < 3 or stripped not in str(outcome)
    else:
        assert len(outcome) % 2 == 0
        assert set(outcome) <= set("0123456789ABCDEF")


@pytest.mark.parametrize("text", ["amt", "AMT", "Kam"])
def test_manufacturer_is_three_letters_upper_cased(text):
    assert fields.manufacturer(text) == text.upper()


@pytest.mark.parametrize("text", ["AM", "AMTX", "A1T", "ÄMT"])
def test_manufacturer_other_than_three_letters_is_refused(text):
    with pytest.raises(FieldError):
        fields.manufacturer(text)


@pytest.mark.parametrize("text", ["1234567", "123456789", "1234567A", "1234 5678"])
def test_meter_address_needs_exactly_eight_digits(text):
    with pytest.raises(FieldError):
        fields.meter_address(text)


def test_eui_accepts_separators_and_returns_sixteen_upper_hex():
    assert fields.eui("70-b3-d5-7e-d0-00-00-01") == "70B3D57ED0000001"
    with pytest.raises(FieldError):
        fields.eui("70B3D57ED00000")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("07", 7), ("0x1B", 27), ("ff", 255), ("7", 7)],
)
def test_byte_value_is_hex(text, expected):
    assert fields.byte_value(text) == expected


@pytest.mark.parametrize("text", ["100", "0x", "g1", "-1"])
def test_byte_value_out_of_range_or_not_hex_is_refused(text):
    with pytest.raises(FieldError):
        fields.byte_value(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0.4", "1.0.4"),
        ("MAC_V1_0_2", "1.0.2"),
        ("LORAWAN_1_1_0", "1.1"),
        ("v1.0", "1.0"),
        ("MAC_V1_1", "1.1"),
    ],
)
def test_lorawan_versions_of_tts_and_chirpstack_normalise(text, expected):
    assert fields.lorawan_version(text) == expected


def test_unknown_lorawan_version_is_refused():
    with pytest.raises(FieldError):
        fields.lorawan_version("1.2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("aes-128", Algorithm.AES128), ("3DES", Algorithm.TDES), ("tdes", Algorithm.TDES)],
)
def test_algorithm_names_are_lenient_about_case_and_dashes(text, expected):
    assert fields.algorithm(text) is expected


def test_slot_names_match_the_enum_values_in_any_case():
    assert fields.slot("appkey") is KeySlot.LORAWAN_APPKEY
    assert fields.slot("oms") is KeySlot.OMS
    with pytest.raises(FieldError):
        fields.slot("master")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_text_starting_like_a_formula_is_refused(start):
    with pytest.raises(FieldError) as problem:
        fields.text_value(f"{start}cmd|' /C calc'!A0")
    assert "formula" in str(problem.value)


@pytest.mark.parametrize("text", ["a\tb", "a\x00", "a\rb", "x\udcff"])
def test_text_with_control_characters_is_refused(text):
    with pytest.raises(FieldError):
        fields.text_value(text)


def test_labels_split_on_commas_drop_empties_and_duplicates():
    assert fields.labels("north, south,,north") == ("north", "south")
