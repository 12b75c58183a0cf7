"""The rows of the device list, written in Python: the list page's hot loop.

Each row of ``devices/list.html`` holds about twenty values. The template engine resolved,
localised and escaped each one through several layers of nodes: at 50 rows that was more
than half of the page's time. Here a row is one f-string, every value escaped with
``escape`` exactly as autoescaping would, and the texts are translated once per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()

NONE = "–"


def _labels(labels: Iterable[str]) -> str:
    tags = "".join(f'<span class="tag">{escape(label)}</span> ' for label in labels)
    return tags or NONE


def render_device_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    can_claim: bool,
    can_download: bool,
    claim_url: str,
    download_url: str,
) -> SafeString:
    """The ``<tr>`` of each device row (``devices.queries.list_rows`` plus its ``url``)."""
    details = escape(gettext("Details"))
    claim = escape(gettext("Claim device"))
    download = escape(gettext("Download keys"))
    # The translated text is trusted markup, as in ``blocktranslate``; the serial is escaped.
    actions = gettext("Actions for %(serial)s")
    claim_url, download_url = escape(claim_url), escape(download_url)
    out: list[str] = []
    for row in rows:
        pk = int(row["pk"])
        serial = escape(row["serial"])
        url = escape(row["url"])
        status = escape(row["claim_status"])
        claim_button = (
            f'<button type="submit" formaction="{claim_url}" name="one" value="{pk}" '
            f'role="menuitem">{claim}</button>'
            if can_claim and row["claim_status"] == "UNCLAIMED"
            else ""
        )
        download_link = (
            f'<a href="{download_url}?device={pk}" role="menuitem">{download}</a>'
            if can_download
            else ""
        )
        out.append(
            "<tr>"
            f'<td><input type="checkbox" name="device" value="{pk}" aria-label="{serial}"></td>'
            f'<td class="mono"><a href="{url}">{serial}</a></td>'
            f"<td>{escape(row['device_type'])}</td>"
            f'<td><span class="badge status-{status.lower()}">{status}</span></td>'
            f"<td>{_labels(row['labels'])}</td>"
            f"<td>{escape(row['batch']) if row['batch'] else NONE}</td>"
            '<td class="actions"><details class="row-menu">'
            f'<summary aria-label="{actions % {"serial": serial}}">⋮</summary>'
            '<div class="menu-panel" role="menu">'
            f'<a href="{url}" role="menuitem">{details}</a>{claim_button}{download_link}'
            "</div></details></td></tr>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@register.simple_tag(takes_context=True)
def device_rows(context: template.Context) -> SafeString:
    """``{% device_rows %}``: the rows of ``page`` with the list's permissions and links."""
    return render_device_rows(
        context["page"].items,
        can_claim=bool(context.get("can_claim")),
        can_download=bool(context.get("can_download")),
        claim_url=context.get("claim_url", ""),
        download_url=context.get("download_url", ""),
    )
