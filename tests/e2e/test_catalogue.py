"""Browser test of the device catalogue: filter, select, label, open a device."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def test_filter_select_label_and_open_a_device(page: object, meterkms_server: LiveServer) -> None:
    login(page, meterkms_server)
    page.click("nav.topnav >> text=Gerätekatalog")
    page.click("main a.tile[href='/catalogue/devices/']")
    page.wait_for_selector("text=Alle Geräte: 8")
    serials = page.locator("table.devices tbody td.mono a").all_inner_texts()
    assert serials == [
        "21N001052",
        "21N001064",
        "9999990",
        "9999991",
        "9999992",
        "9999993",
        "Y20TA010056",
        "Y20TA010057",
    ]
    # Claim status chip: pick CLAIMED (htmx swaps the table).
    page.click("details.chip >> text=Annahmestatus")
    page.check("input[name=claim_status][value=CLAIMED]")
    page.wait_for_selector("text=Alle Geräte: 3")
    assert page.locator("table.devices tbody td.mono a").all_inner_texts() == [
        "21N001052",
        "9999990",
        "9999993",
    ]
    assert "claim_status=CLAIMED" in page.url
    # Select two devices and label them.
    page.check("input[name=device][aria-label='9999990']")
    page.check("input[name=device][aria-label='9999993']")
    page.fill("#bulk-label", "Lager Nord")
    page.click("button[name=operation][value=add]")
    page.wait_for_selector("text=Labels bei 2 Geräten geändert.")
    assert page.locator("span.tag", has_text="Lager Nord").count() == 2
    screenshot(page, "catalogue-filtered")
    # Open a device: identifiers, key slot with its check value, history.
    page.click("table.devices >> text=9999993")
    page.wait_for_selector("h1 >> text=9999993")
    main = page.inner_text("main")
    assert "Aquastream WM-Bus" in main
    assert "IMT" in main
    assert "OMS" in main
    assert re.search(r"\b[0-9A-F]{6}\b", page.inner_text("section.card:has(h2:text('Schlüssel'))"))
    assert "labels.changed" in main
    screenshot(page, "device-detail")
