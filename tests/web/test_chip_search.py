"""Filter chips over many options: the first ``OPTION_LIMIT`` listed, the rest searched.

The search asks the list's own URL (``?_options=<filter>&_search=<text>``), so its answers
come from the same scoped FilterSet as the rows: never another tree's labels or batches.
"""

from __future__ import annotations

import re

import pytest

from meterkms.batches.models import Batch
from meterkms.devices.models import Label
from meterkms.web.templatetags.filter_chips import OPTION_LIMIT
from tests.support.catalogue import make_device, make_label
from tests.support.personas import World

pytestmark = pytest.mark.django_db

URL = "/catalogue/devices/"


def _labels(owner: object, count: int, prefix: str = "lot-") -> list[Label]:
    Label._base_manager.bulk_create(
        Label(organisation=owner, name=f"{prefix}{number:03d}") for number in range(count)
    )
    return list(Label._base_manager.filter(organisation=owner).order_by("name"))


def _options(html: str, name: str) -> list[str]:
    """The option labels of radio group ``name`` (the "All" option included)."""
    return [
        text.strip()
        for text in re.findall(
            rf'<input type="radio" name="{name}" value="[^"]*"\s*(?:checked)?>([^<]*)</label>',
            html,
        )
    ]


def test_a_chip_with_many_options_lists_the_first_and_searches_the_server(
    world: World, client_for
) -> None:
    _labels(world.org_a, OPTION_LIMIT + 15)
    html = client_for(world.alice).get(URL).content.decode()
    listed = _options(html, "label")
    assert listed == ["All", *[f"lot-{n:03d}" for n in range(OPTION_LIMIT)]]
    assert 'data-option-search="server"' in html
    assert 'hx-vals=\'{"_options": "label"}\'' in html
    # The other chips (few options) stay filtered in the browser only.
    assert html.count('data-option-search="server"') == 1

    found = client_for(world.alice).get(URL, {"_options": "label", "_search": "LOT-04"})
    assert found.status_code == 200
    body = found.content.decode()
    assert _options(body, "label") == ["All", *[f"lot-{n:03d}" for n in range(40, 45)]]
    assert "<table" not in body  # the options only, not the page or the rows
    assert "More options" not in body


def test_the_chosen_option_stays_checked_whatever_is_searched(world: World, client_for) -> None:
    labels = _labels(world.org_a, OPTION_LIMIT + 5)
    chosen = labels[-1]  # beyond the first page of options
    page = client_for(world.alice).get(URL, {"label": chosen.pk}).content.decode()
    assert f'value="{chosen.pk}" checked' in page
    assert _options(page, "label")[1] == chosen.name  # listed first, although not in the top
    assert f'<span class="value">{chosen.name}</span>' in page

    other = client_for(world.alice).get(
        URL, {"_options": "label", "_search": "lot-001", "label": chosen.pk}
    )
    body = other.content.decode()
    assert _options(body, "label") == ["All", chosen.name, "lot-001"]
    assert f'value="{chosen.pk}" checked' in body


def test_the_search_never_names_another_trees_options(world: World, client_for) -> None:
    _labels(world.org_b, OPTION_LIMIT + 3, prefix="secret-")
    own = make_label(world.org_a, "secret-own", make_device(world.org_a, "S1"))
    answer = client_for(world.alice).get(URL, {"_options": "label", "_search": "secret"})
    assert _options(answer.content.decode(), "label") == ["All", own.name]
    foreign = Label._base_manager.filter(organisation=world.org_b).first()
    # Another tree's label as the "chosen" one is not brought along either.
    answer = client_for(world.alice).get(
        URL, {"_options": "label", "_search": "zzz", "label": foreign.pk}
    )
    body = answer.content.decode()
    assert _options(body, "label") == ["All"]
    assert "secret-" not in body
    assert "No match." in body


@pytest.mark.parametrize(
    "params",
    [
        {"_options": "serial"},  # a text filter has no options
        {"_options": "nonsense"},
        {"_options": ""},
        {"_options": "label", "label": "not-a-number", "_search": "x" * 5000},
    ],
)
def test_bad_option_requests(world: World, client_for, params: dict[str, str]) -> None:
    response = client_for(world.alice).get(URL, params)
    if params["_options"] == "label":
        assert response.status_code == 200  # a malformed value is simply not chosen
        assert _options(response.content.decode(), "label") == ["All"]
    else:
        assert response.status_code == 404


def test_the_option_search_needs_the_lists_permission(world: World, client) -> None:
    response = client.get(URL, {"_options": "label", "_search": "lot"}, secure=True)
    assert response.status_code == 302
    assert "/login" in response["Location"] or "/accounts/" in response["Location"]


def test_every_list_with_a_model_chip_answers_its_option_search(world: World, client_for) -> None:
    """Organisations, batches and device types are searched the same way."""
    Batch._base_manager.bulk_create(
        Batch(reference=f"LS-{number:04d}", creator=world.org_a, recipient=world.org_a_child)
        for number in range(OPTION_LIMIT * 2)
    )
    Batch._base_manager.create(reference="HIDDEN-B", creator=world.org_b, recipient=world.org_b)
    batches = client_for(world.alice).get(URL, {"_options": "batch", "_search": "ls-005"})
    found = _options(batches.content.decode(), "batch")
    assert found[0] == "All"
    assert sorted(found[1:]) == [f"LS-005{n}" for n in range(10)]  # newest batches first
    hidden = client_for(world.alice).get(URL, {"_options": "batch", "_search": "HIDDEN"})
    assert _options(hidden.content.decode(), "batch") == ["All"]
    for url, name, wanted in (
        ("/admin/organisations/", "organisation", "Integra Service"),
        ("/catalogue/devices/", "device_type", "Aquastream WM-Bus"),
    ):
        answer = client_for(world.alice).get(url, {"_options": name, "_search": wanted[:8]})
        assert answer.status_code == 200, url
        assert wanted in _options(answer.content.decode(), name), url


def test_which_column_a_chip_searches() -> None:
    from meterkms.devices.models import DeviceType, ImportRun
    from meterkms.web.templatetags.filter_chips import option_text_field

    assert option_text_field(Batch) == "reference"
    assert option_text_field(Label) == "name"
    assert option_text_field(DeviceType) == "name"
    assert option_text_field(ImportRun) is None  # no text column: every option is listed


def test_a_chosen_option_by_another_key_than_the_id(world: World) -> None:
    from django import forms

    from meterkms.web.templatetags.filter_chips import build_chip

    _labels(world.org_a, OPTION_LIMIT + 2)

    class ByName(forms.Form):
        label = forms.ModelChoiceField(
            queryset=Label._base_manager.filter(organisation=world.org_a).order_by("name"),
            to_field_name="name",
            required=False,
        )

    chip = build_chip(ByName({"label": "lot-031"})["label"], search="lot-00")
    assert chip.options[0] == ("lot-031", "lot-031", True)
    assert [value for value, _label, _chosen in chip.options[1:]] == [
        f"lot-00{n}" for n in range(10)
    ]
    assert (chip.shown, chip.more, chip.search) == ("lot-031", False, "lot-00")
    many = build_chip(ByName({})["label"])
    assert (len(many.options), many.more) == (OPTION_LIMIT, True)
