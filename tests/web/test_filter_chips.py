"""The filter chips' values, labels and options (``web.templatetags.filter_chips``)."""

from __future__ import annotations

from django import forms

from meterkms.web.templatetags.filter_chips import chip


class _Filters(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "All"), ("OPEN", "Open"), ("DONE", "Done")]
    )
    order = forms.ChoiceField(required=False, choices=[(1, "first"), (2, "second")])
    text = forms.CharField(required=False)


def test_a_chosen_option_is_shown_by_its_label_and_checked() -> None:
    form = _Filters({"status": "DONE", "order": "2", "text": "ABC"})
    status = chip(form["status"])
    assert (status.value, status.shown, status.has_choices) == ("DONE", "Done", True)
    assert status.options == [("OPEN", "Open", False), ("DONE", "Done", True)]
    order = chip(form["order"])  # choices that are not text compare as text
    assert order.shown == "second"
    assert order.options == [("1", "first", False), ("2", "second", True)]
    text = chip(form["text"])
    assert (text.value, text.shown, text.has_choices, text.options) == ("ABC", "ABC", False, [])


def test_no_value_and_an_unknown_value() -> None:
    empty = chip(_Filters({})["status"])
    assert (empty.value, empty.shown) == ("", "")
    assert not any(chosen for _, _, chosen in empty.options)
    unknown = chip(_Filters({"status": "GONE"})["status"])
    assert (unknown.value, unknown.shown) == ("GONE", "")  # not an option: nothing to name
    assert not any(chosen for _, _, chosen in unknown.options)
