"""Browser journey: select devices → set up the second factor → download keys → file in the
download list → open it → log in again with a code → remove the second factor.

The demo organisation has three claimed devices. They are selected in the device list; the
demo user's role may download keys, so the first download asks for an authenticator app
(the test computes its codes from the key the page shows). The keys are downloaded as a
password-protected CSV prepared in the background (so that the file lands in the download
list), fetched from the list, and opened with ``meterkms export open``, as the recipient of
the file would.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from meterkms.cli.demo import DEMO_CLAIMED
from tests.e2e.conftest import LiveServer, login, screenshot
from tests.support.mfa import code_at, current_step

pytestmark = pytest.mark.browser

FILE_PASSWORD = "Browser-Journey-2026"


def test_select_download_find_in_the_list_and_open(
    page: object, meterkms_server: LiveServer, tmp_path: Path
) -> None:
    login(page, meterkms_server)
    page.wait_for_selector("nav.topnav")  # type: ignore[attr-defined]
    page.goto(meterkms_server.url + "catalogue/devices/")  # type: ignore[attr-defined]
    claimed = page.locator("tr:has(span.status-claimed) input[name=device]")  # type: ignore[attr-defined]
    assert claimed.count() == len(DEMO_CLAIMED)
    for index in range(claimed.count()):
        claimed.nth(index).check()
    screenshot(page, "downloads-1-selection")
    page.click("button[name=handoff]")  # type: ignore[attr-defined]
    secret = _set_up_second_factor(page)
    page.wait_for_selector("form.download-form")  # type: ignore[attr-defined]
    assert "Anspruchsstatus" in page.inner_text("aside.note") or "UNCLAIMED" in page.inner_text(  # type: ignore[attr-defined]
        "aside.note"
    )
    page.select_option("select[name=format]", "csv")  # type: ignore[attr-defined]
    page.check("input[name=protection][value=password]")  # type: ignore[attr-defined]
    page.fill("input[name=password]", FILE_PASSWORD)  # type: ignore[attr-defined]
    page.fill("input[name=password_again]", FILE_PASSWORD)  # type: ignore[attr-defined]
    page.check("input[name=background]")  # type: ignore[attr-defined]
    screenshot(page, "downloads-2-form")
    page.click("form.download-form button.primary")  # type: ignore[attr-defined]
    # The detail page polls until the worker has prepared the file.
    page.wait_for_selector("#download-status form[action$='/file/'] button", timeout=60_000)  # type: ignore[attr-defined]
    screenshot(page, "downloads-3-ready")
    page.goto(meterkms_server.url + "catalogue/downloads/")  # type: ignore[attr-defined]
    button = page.locator("table.downloads form[action$='/file/'] button").first  # type: ignore[attr-defined]
    screenshot(page, "downloads-4-list")
    with page.expect_download() as waiting:  # type: ignore[attr-defined]
        button.click()
    download = waiting.value
    assert download.suggested_filename.endswith(".csv.mkms")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    payload = tmp_path / "keys.csv"
    opened = meterkms_server.run(
        "export", "open", str(saved), "--password-stdin", "--out", str(payload),
        input_text=FILE_PASSWORD + "\n",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert f"{len(DEMO_CLAIMED)} devices, {len(DEMO_CLAIMED)} keys" in opened.stderr
    text = payload.read_bytes().decode("utf-8-sig")
    for serial in DEMO_CLAIMED:
        assert f'"{serial}"' in text
    assert text.count("\r\n") == len(DEMO_CLAIMED) + 1
    _log_in_again_with_a_code_and_remove_the_factor(page, meterkms_server, secret)


def _set_up_second_factor(page: object) -> bytes:
    """The download sent us to set up the app: read its key, confirm with a code."""
    page.wait_for_selector(".second-factor svg.segno")  # type: ignore[attr-defined]
    shown = page.inner_text("[data-secret]").replace(" ", "")  # type: ignore[attr-defined]
    secret = base64.b32decode(shown + "=" * (-len(shown) % 8))
    screenshot(page, "downloads-0-second-factor")
    page.fill("input[name=code]", code_at(secret, current_step()))  # type: ignore[attr-defined]
    page.click(".second-factor button.primary")  # type: ignore[attr-defined]
    codes = page.locator("ul.recovery-codes li")  # type: ignore[attr-defined]
    codes.first.wait_for()
    assert codes.count() == 10
    page.click("main a.button.primary")  # type: ignore[attr-defined]  # continue to the download
    return secret


def _log_in_again_with_a_code_and_remove_the_factor(
    page: object, server: LiveServer, secret: bytes
) -> None:
    page.goto(server.url + "profile/")  # type: ignore[attr-defined]
    page.click("details.user-menu summary")  # type: ignore[attr-defined]
    page.click("details.user-menu form[action$='/logout/'] button")  # type: ignore[attr-defined]
    login(page, server)
    page.wait_for_selector("input[name=code]")  # type: ignore[attr-defined]
    assert page.url.endswith("/login/code/")  # type: ignore[attr-defined]
    # the next step's code: the one of this step may have confirmed the set-up already
    page.fill("input[name=code]", code_at(secret, current_step() + 1))  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_selector("nav.topnav")  # type: ignore[attr-defined]
    page.goto(server.url + "profile/second-factor/")  # type: ignore[attr-defined]
    page.click("form[data-confirm=confirm-mfa-remove] button")  # type: ignore[attr-defined]
    page.click("#confirm-mfa-remove [data-confirm-ok]")  # type: ignore[attr-defined]
    page.wait_for_url("**/profile/")  # type: ignore[attr-defined]
    assert "Nicht eingerichtet" in page.inner_text("#second-factor")  # type: ignore[attr-defined]
