from pathlib import Path

import pytest

from meterkms.devices.importers.columns import COLUMNS, Kind, plan_columns, safe_name, squash
from meterkms.devices.importers.limits import FatalFileError

DOCS = Path(__file__).resolve().parents[3] / "docs" / "formats.md"


def test_headers_compare_without_case_spaces_and_punctuation():
    assert squash(" Serial No. ") == squash("serial_no") == "serialno"
    plan = plan_columns(["Serial No.", "App Key", "Dev-EUI"], line=1)
    assert [spec.name for _, spec, _ in plan.columns] == ["serial", "app_key", "dev_eui"]
    assert [shown for _, _, shown in plan.columns] == ["Serial No.", "App Key", "Dev-EUI"]


def test_two_columns_for_one_field_stop_with_their_positions():
    with pytest.raises(FatalFileError, match="columns 1 and 3 both hold serial"):
        plan_columns(["serial", "key", "Seriennummer"], line=1)


def test_mapping_to_an_unknown_field_is_a_caller_error():
    with pytest.raises(ValueError, match="unknown fields"):
        plan_columns(["a"], line=1, mapping={"a": "colour"})


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Order No", "Order No"),
        ("cafe", "cafe"),
        ("0011223344556677", None),
        ("00:11:22:33:44:55:66:77", None),
        ("a\x00", None),
    ],
)
def test_names_that_could_be_keys_are_never_echoed(name, shown):
    assert safe_name(name) == shown


def test_docs_list_every_column_and_alias():
    text = DOCS.read_text(encoding="utf-8")
    for name, (spec, aliases) in COLUMNS.items():
        if spec.kind in (Kind.CHECK_VALUE, Kind.ALGORITHM) and spec.slot is not None:
            continue  # documented as the <key column>_kcv / _algorithm pattern
        assert f"`{name}`" in text or name in text, name
        for alias in aliases:
            assert alias in text, alias
