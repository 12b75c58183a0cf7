"""Browser test: paste a captured telegram on "Prove keys" and see the key proven."""

from __future__ import annotations

import os

import pytest

from meterkms.keys.proofs.encode import encrypt_mode5
from tests.e2e.conftest import LiveServer, login, screenshot
from tests.keys.proofs.vectors import TOPAS_PLAIN

pytestmark = pytest.mark.browser

ADDRESS = "09876543"


def _telegram(key: bytes) -> str:
    """A TOPAS ES KR telegram of meter AMT 09876543, encrypted in mode 5 under ``key``."""
    plain = bytes.fromhex(TOPAS_PLAIN)
    plain = plain[:4] + bytes.fromhex(ADDRESS)[::-1] + plain[8:]
    return encrypt_mode5(plain, key).hex().upper()


def _register_meter(server: LiveServer, key: bytes) -> None:
    csv = server.data_dir / "e2e-proof.csv"
    csv.write_text(
        "serial;device_type;manufacturer;meter_address;oms_key\n"
        f"E2E-PROOF-1;CalecST III WM-Bus;AMT;{ADDRESS};{key.hex().upper()}\n",
        encoding="utf-8",
    )
    done = server.run("devices", "import", str(csv), "--as", server.email)
    csv.unlink()
    assert done.returncode == 0, done.stderr


def _use_language(page: object, code: str) -> None:
    page.click("details.user-menu > summary")  # type: ignore[attr-defined]
    page.click(f"details.user-menu button[name=language][value={code}]")  # type: ignore[attr-defined]
    page.wait_for_selector(f"html[lang={code}]")  # type: ignore[attr-defined]


def test_a_pasted_telegram_proves_the_stored_key(page: object, meterkms_server: LiveServer) -> None:
    key = os.urandom(16)
    _register_meter(meterkms_server, key)
    login(page, meterkms_server)
    page.wait_for_selector("nav.topnav")  # type: ignore[attr-defined]
    _use_language(page, "en")
    try:
        page.click("nav.topnav >> text=Device catalogue")  # type: ignore[attr-defined]
        page.click("aside.sidebar >> text=Prove keys")  # type: ignore[attr-defined]
        page.wait_for_selector("h1:has-text('Prove keys')")  # type: ignore[attr-defined]
        page.fill("textarea[name=telegrams]", _telegram(key))  # type: ignore[attr-defined]
        page.click("button.primary:has-text('Prove')")  # type: ignore[attr-defined]
        badge = page.wait_for_selector("#proof-results ~ table .badge.verdict-proven")  # type: ignore[attr-defined]
        assert badge.inner_text() == "key proven"
        results = page.inner_text("table.proofs")  # type: ignore[attr-defined]
        assert "E2E-PROOF-1" in results
        assert "2F2F" in results
        assert f"AMT {ADDRESS}" in results
        assert key.hex() not in page.content().lower()  # type: ignore[attr-defined]
        screenshot(page, "prove-keys")
        page.click("table.proofs >> text=E2E-PROOF-1")  # type: ignore[attr-defined]
        page.wait_for_selector("h1:has-text('E2E-PROOF-1')")  # type: ignore[attr-defined]
    finally:
        _use_language(page, "de")
