"""The device list's rows, written in Python, against the template loop they replace."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.web.templatetags.device_rows import render_device_rows

#: The row loop ``devices/list.html`` had before the rows moved to Python: the reference.
TEMPLATE_ROWS = Template(
    """{% load i18n %}{% translate "Details" as details_text %}{% translate "Claim device" as claim_text %}{% translate "Download keys" as download_text %}
{% for device in rows %}
      <tr>
        <td><input type="checkbox" name="device" value="{{ device.pk }}" aria-label="{{ device.serial }}"></td>
        <td class="mono"><a href="{{ device.url }}">{{ device.serial }}</a></td>
        <td>{{ device.device_type }}</td>
        <td><span class="badge status-{{ device.claim_status|lower }}">{{ device.claim_status }}</span></td>
        <td>{% for label in device.labels %}<span class="tag">{{ label }}</span> {% empty %}–{% endfor %}</td>
        <td>{{ device.batch|default:"–" }}</td>
        <td class="actions">
          <details class="row-menu"><summary aria-label="{% blocktranslate with serial=device.serial %}Actions for {{ serial }}{% endblocktranslate %}">⋮</summary>
            <div class="menu-panel" role="menu">
              <a href="{{ device.url }}" role="menuitem">{{ details_text }}</a>
              {% if can_claim and device.claim_status == "UNCLAIMED" %}<button type="submit" formaction="{{ claim_url }}" name="one" value="{{ device.pk }}" role="menuitem">{{ claim_text }}</button>{% endif %}
              {% if can_download %}<a href="{{ download_url }}?device={{ device.pk }}" role="menuitem">{{ download_text }}</a>{% endif %}
            </div>
          </details>
        </td>
      </tr>
{% endfor %}"""  # noqa: E501 - the template as it was
)


def _squeeze(html: str) -> str:
    """Markup without the whitespace between tags (the template's indentation)."""
    return re.sub(r">\s+<", "><", html).strip()


def _both(rows: list[dict[str, Any]], **options: Any) -> tuple[str, str]:
    python = render_device_rows(rows, **options)
    template = TEMPLATE_ROWS.render(Context({"rows": rows, **options}))
    return _squeeze(python), _squeeze(template)


text = st.text(min_size=0, max_size=12)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "pk": st.integers(min_value=1, max_value=10**12),
            "serial": text.filter(bool),
            "device_type": text,
            "claim_status": st.sampled_from(["UNCLAIMED", "PENDING", "CLAIMED", "<x&>"]),
            "labels": st.lists(text.filter(bool), max_size=3),
            "batch": st.none() | text,
            "url": text.map(lambda value: "/catalogue/devices/" + value),
        }
    ),
    max_size=4,
)


@pytest.mark.parametrize("language", ["en", "de"])
@settings(max_examples=150, deadline=None)
@given(
    rows=rows,
    can_claim=st.booleans(),
    can_download=st.booleans(),
    claim_url=st.sampled_from(["/catalogue/devices/claim/", "/x?a=1&b=<2>"]),
)
def test_rows_are_the_markup_of_the_template_loop(
    language: str, rows: list[dict[str, Any]], can_claim: bool, can_download: bool, claim_url: str
) -> None:
    with translation.override(language):
        python, template = _both(
            rows,
            can_claim=can_claim,
            can_download=can_download,
            claim_url=claim_url,
            download_url="/keys/downloads/new/",
        )
    assert python == template


def test_every_value_is_escaped() -> None:
    row = {
        "pk": 7,
        "serial": '<script>alert("s")</script>',
        "device_type": "<b>type</b>",
        "claim_status": "UNCLAIMED",
        "labels": ["<i>label</i>", "a&b"],
        "batch": "'batch'",
        "url": '/catalogue/devices/7/"onmouseover=x',
    }
    html = render_device_rows(
        [row], can_claim=True, can_download=True, claim_url="/c/", download_url="/d/"
    )
    for raw in ("<script>", "<b>", "<i>", "a&b", "'batch'", '"onmouseover'):
        assert raw not in html
    assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt;" in html
    tags = '<span class="tag">&lt;i&gt;label&lt;/i&gt;</span> <span class="tag">a&amp;b</span>'
    assert tags in html


def test_claim_and_download_follow_the_permissions_and_the_status() -> None:
    def row(pk: int, status: str) -> dict[str, Any]:
        return {
            "pk": pk,
            "serial": f"SN{pk}",
            "device_type": "T",
            "claim_status": status,
            "labels": [],
            "batch": None,
            "url": f"/catalogue/devices/{pk}/",
        }

    page = [row(1, "UNCLAIMED"), row(2, "CLAIMED")]
    html = render_device_rows(
        page, can_claim=True, can_download=False, claim_url="/c/", download_url="/d/"
    )
    assert 'name="one" value="1"' in html
    assert 'name="one" value="2"' not in html
    assert "?device=" not in html
    assert html.count("<td>–</td>") == 4  # no labels, no batch: a dash each, per row
    html = render_device_rows(
        page, can_claim=False, can_download=True, claim_url="/c/", download_url="/d/"
    )
    assert 'name="one"' not in html
    assert '<a href="/d/?device=1" role="menuitem">' in html
    assert '<a href="/d/?device=2" role="menuitem">' in html


@pytest.mark.parametrize("pk", [1, 9, 918273645, 10**15])
def test_row_links_are_the_detail_urls(pk: int) -> None:
    from django.urls import reverse

    from meterkms.web.views.devices import _linked

    assert _linked([{"pk": pk}])[0]["url"] == reverse("web:device_detail", args=[pk])
