"""Browser test of the whole journey of a shipment batch, on the real server.

The manufacturer (the demo organisation) imports devices, adds the customer as a partner,
creates a batch from a serial file with confirmation required; the customer's
administrator gets the "new batch" email and claims the batch (the devices wait as
PENDING); the manufacturer sees the claim request in the bell and confirms it; the customer
sees the devices CLAIMED.
"""

from __future__ import annotations

import email
import re
import secrets
import time
from email import policy
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "Harbour-Lantern-58-Violet!"


def _mail_to(mail_dir: Path, address: str, deadline: float) -> str:
    """The plain text of the first mail to ``address`` (waits for the worker)."""
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]):
                return message.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.5)
    raise AssertionError(f"no mail to {address} arrived")


def _prepare(server: LiveServer, tmp_path: Path, tag: str) -> tuple[str, str, list[str]]:
    """A customer root organisation with its administrator, and fresh manufacturer devices."""
    customer = f"Kunde {tag}"
    address = f"kunde-{tag}@example.net"
    made = server.run(
        "createadmin",
        "--email",
        address,
        "--name",
        "Kunde Admin",
        "--organisation",
        customer,
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    serials = [f"E2E{tag.upper()}{number:03d}" for number in range(1, 6)]
    devices = tmp_path / "devices.csv"
    devices.write_text("serial\n" + "\n".join(serials) + "\n", encoding="utf-8")
    imported = server.run(
        "devices",
        "import",
        str(devices),
        "--as",
        server.email,
        "--type",
        "TOPAS Lora W8",
        "--generate-keys",
    )
    assert imported.returncode == 0, imported.stderr + imported.stdout
    return customer, address, serials


def _organisation_id(page: object, server: LiveServer) -> str:
    page.goto(server.url + "admin/organisations/")  # type: ignore[attr-defined]
    href = page.get_attribute("a[href$='/edit/'][href*='/admin/organisations/']", "href")  # type: ignore[attr-defined]
    found = re.search(r"/admin/organisations/([0-9a-f-]{36})/edit/", href or "")
    assert found, href
    return found.group(1)


def test_batch_from_a_file_claimed_confirmed_and_claimed_devices(
    page: object, browser: object, meterkms_server: LiveServer, tmp_path: Path
) -> None:
    server = meterkms_server
    tag = secrets.token_hex(3)
    customer, address, serials = _prepare(server, tmp_path, tag)
    reference = f"VL-{tag}"

    # The customer's administrator tells the manufacturer its organisation ID.
    other = browser.new_context(ignore_https_errors=True, locale="de-DE")  # type: ignore[attr-defined]
    buyer = other.new_page()
    buyer.set_default_timeout(15_000)
    login(buyer, server, address, PASSWORD)
    buyer.wait_for_selector("nav.topnav")
    customer_id = _organisation_id(buyer, server)

    # The manufacturer adds the customer as a partner …
    login(page, server)
    page.wait_for_selector("nav.topnav")
    page.goto(server.url + "admin/partners/add/")
    page.fill("input[name=partner_id]", customer_id)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/admin/partners/$"))

    # … and creates the batch from a file, with confirmation required.
    lot = tmp_path / "versandlos.csv"
    lot.write_bytes(b"\xef\xbb\xbfSeriennummer\r\n" + ";".join(serials).encode() + b"\r\n")
    page.goto(server.url + "catalogue/batches/new/")
    page.fill("input[name=reference]", reference)
    page.set_input_files("input[name=file]", str(lot))
    page.check("input[name=needs_confirmation]")
    page.fill("input[name=label]", "E2E")
    page.fill("input[data-select-filter]", customer)
    page.select_option("select[name=recipient]", label=customer)
    screenshot(page, "batch-create")
    page.click("form[enctype] button[type=submit].primary")
    page.wait_for_url(re.compile(r"/catalogue/batches/\d+/$"))
    batch_url = page.url
    assert reference in page.inner_text("h1")
    assert page.locator("table.devices tbody tr").count() == len(serials)

    # The customer's administrator hears of it and claims the batch.
    text = _mail_to(server.data_dir / "mail", address, time.monotonic() + 60)
    assert reference in text
    buyer.goto(server.url + "catalogue/batches/claim/")
    row = buyer.locator("tr", has_text=reference)
    row.locator("button[type=submit]").click()
    buyer.click("dialog#confirm-claim [data-confirm-ok]")
    buyer.wait_for_selector(".messages .success")
    buyer.goto(batch_url)
    statuses = buyer.locator("table.devices tbody .badge").all_inner_texts()
    assert statuses == ["PENDING"] * len(serials)
    screenshot(buyer, "batch-claimed-pending")

    # The manufacturer sees the claim request in the bell and confirms it.
    page.goto(server.url)
    page.click("details.notifications > summary")
    notification = page.locator("details.notifications a.notification", has_text=reference)
    assert customer in notification.inner_text()
    notification.click()
    page.wait_for_url(batch_url)
    page.click("form[action$='/confirm/'] button[type=submit]")
    page.click("dialog[open] [data-confirm-ok]")
    page.wait_for_selector(".messages .success")
    screenshot(page, "batch-confirmed")

    # The customer now holds the devices, CLAIMED.
    buyer.goto(server.url + "catalogue/devices/?serial=E2E" + tag.upper())
    rows = buyer.locator("table.devices tbody tr")
    assert rows.count() == len(serials)
    assert set(buyer.locator("table.devices tbody .badge").all_inner_texts()) == {"CLAIMED"}
    screenshot(buyer, "batch-devices-claimed")
    other.close()
