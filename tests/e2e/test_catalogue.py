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
    assert not page.locator("form.filters a", has_text="Filter zurücksetzen").is_visible()
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
    # The closed chip names the chosen status, although htmx swapped only the table.
    status_chip = page.locator("details.chip", has_text="Annahmestatus")
    assert status_chip.locator("summary .value").inner_text() == "CLAIMED"
    assert "active" in (status_chip.get_attribute("class") or "")
    assert page.locator("form.filters a", has_text="Filter zurücksetzen").is_visible()
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


def test_a_label_beyond_the_listed_options_is_found_by_the_chip_search(
    page: object, meterkms_server: LiveServer
) -> None:
    """Forty labels: the chip lists thirty, and the search asks the server for the rest."""
    made = meterkms_server.run(
        "manage",
        "shell",
        "-c",
        "from meterkms.accounts.models import User; from meterkms.devices.models import Label; "
        f"org = User._base_manager.get(email='{meterkms_server.email}').organisation; "
        "Label._base_manager.bulk_create("
        "[Label(organisation=org, name=f'Los {n:03d}') for n in range(40)], "
        "ignore_conflicts=True)",
    )
    assert made.returncode == 0, made.stderr
    login(page, meterkms_server)
    page.click("nav.topnav >> text=Gerätekatalog")
    page.click("main a.tile[href='/catalogue/devices/']")
    page.check("input[name=device][aria-label='9999992']")
    page.fill("#bulk-label", "Los 039")  # an existing label, beyond the first thirty
    page.click("button[name=operation][value=add]")
    page.wait_for_selector("text=Labels bei 1 Geräten geändert.")

    page.click("details.chip >> summary:has-text('Labels')")
    panel = page.locator("details.chip[open] .chip-panel")
    box = panel.bounding_box()
    assert box["x"] + box["width"] <= page.viewport_size["width"]  # opens within the window
    assert panel.locator("label", has_text="Los 000").count() == 1
    assert panel.locator("label", has_text="Los 039").count() == 0
    assert "Weitere Optionen" in panel.inner_text()
    panel.locator("input[type=search]").fill("039")
    panel.locator("label", has_text="Los 039").wait_for()
    assert panel.locator(".options label").all_inner_texts() == ["Alle", "Los 039"]
    panel.locator("label", has_text="Los 039").locator("input").check()
    page.wait_for_selector("text=Alle Geräte: 1")
    assert page.locator("table.devices tbody td.mono a").all_inner_texts() == ["9999992"]
    assert "label=" in page.url
    labels_chip = page.locator("details.chip", has_text="Labels")
    assert labels_chip.locator("summary .value").inner_text() == "Los 039"
    assert "_search" not in page.url
    assert "_options" not in page.url
    screenshot(page, "catalogue-label-search")
