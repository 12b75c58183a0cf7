"""Browser test: invite a user, open the link of the captured email, set a password, log in.

The running server delivers through its outbox and task worker to the embedded mailer,
which writes ``.eml`` files into ``data/mail``: exactly what a user of ``dev.py run`` sees.
"""

from __future__ import annotations

import email
import re
import secrets
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

LINK = re.compile(r"https://\S+?/invitations/accept/[A-Za-z0-9_-]+/")
PASSWORD = "Lantern-Violet-58-Harbour!"


def _link_mailed_to(mail_dir: Path, address: str, deadline: float) -> str:
    """The invitation link of the first mail to ``address`` (waits for the worker)."""
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address not in str(message["To"]):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = LINK.search(text)
            assert found, text
            return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no invitation mail to {address} arrived")


def test_invite_accept_and_log_in_as_the_new_user(
    page: object, browser: object, meterkms_server: LiveServer
) -> None:
    address = f"nina-{secrets.token_hex(4)}@example.net"
    login(page, meterkms_server)
    page.wait_for_selector("nav.topnav")
    page.goto(meterkms_server.url + "admin/invitations/")
    page.click("a.add-button")
    page.fill("input[name=name]", "Nina Neu")
    page.fill("input[name=email]", address)
    page.select_option("select[name=role]", "OPERATOR")
    page.select_option("select[name=language]", "de")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".email-preview")
    assert "Nina Neu" in page.inner_text(".email-preview")
    screenshot(page, "invitation-review")
    page.click("form[data-confirm=confirm-send] button[type=submit].primary")
    page.click("dialog#confirm-send [data-confirm-ok]")
    page.wait_for_selector(f"text={address}")
    assert "pending" in page.inner_text("#results") or "ausstehend" in page.inner_text("#results")

    link = _link_mailed_to(meterkms_server.data_dir / "mail", address, time.monotonic() + 60)
    # The link carries METERKMS_PUBLIC_URL; the test server listens on a free port instead.
    local = meterkms_server.url.rstrip("/") + urlsplit(link).path
    invitee = browser.new_context(ignore_https_errors=True, locale="de-DE")  # type: ignore[attr-defined]
    try:
        tab = invitee.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(local)
        assert address in tab.inner_text("main")
        tab.fill("input[name=password]", PASSWORD)
        tab.fill("input[name=confirmation]", PASSWORD)
        tab.click("button[type=submit].primary")
        tab.wait_for_selector("text=Willkommen, Nina Neu")
        screenshot(tab, "invitation-accepted")
        tab.click("details.user-menu > summary")
        tab.click("details.user-menu form[action$='/logout/'] button")
        tab.wait_for_selector("input[name=username]")
        login(tab, meterkms_server, address, PASSWORD)
        tab.wait_for_selector("text=Willkommen, Nina Neu")
        tab.goto(local)
        assert "invalid or has expired" in tab.inner_text("main") or "ungültig" in tab.inner_text(
            "main"
        )
    finally:
        invitee.close()
