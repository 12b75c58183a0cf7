"""Browser tests of the emails: copy, edit, preview, activate and test-send a template, and
"forgot password" — against a real `meterkms serve` that sends through an aiosmtpd server.

This module starts its own server (not the session one): its mailer points at the SMTP test
server and its public URL at its own port, so the links in the emails open in the browser.
Selectors use addresses and names rather than labels, so they hold in every UI language.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import (
    LiveServer,
    _free_port,
    _wait_healthy,
    login,
    screenshot,
    server_env,
)
from tests.emails.smtp import SmtpServer, running_server

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Neues-Passwort-2026-Reset!"


@pytest.fixture(scope="module")
def mail_server() -> Iterator[SmtpServer]:
    """aiosmtpd in this process; the meterkms server below sends to it."""
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def mailing_server(
    tmp_path_factory: pytest.TempPathFactory, mail_server: SmtpServer
) -> Iterator[LiveServer]:
    """`meterkms serve` (with its embedded worker) whose mailer is the SMTP test server."""
    data_dir = tmp_path_factory.mktemp("live-mail")
    port = _free_port()
    env = server_env(data_dir)
    env.update(
        {
            "METERKMS_SMTP_HOST": mail_server.host,
            "METERKMS_SMTP_PORT": str(mail_server.port),
            "METERKMS_SMTP_STARTTLS": "false",
            "METERKMS_EMAIL_FROM": "KMS <kms@example.com>",
            "METERKMS_PUBLIC_URL": f"https://127.0.0.1:{port}",
        }
    )
    for step in (["init"], ["migrate", "-v", "0"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "meterkms", *step],
            env=env,
            cwd=data_dir,
            check=True,
            capture_output=True,
            timeout=300,
        )
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "meterkms", "serve", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}/"
    try:
        _wait_healthy(url, process, time.monotonic() + 60)
        yield LiveServer(url=url, data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def mail_page(browser: object, mailing_server: LiveServer) -> Iterator[object]:
    """A fresh browser context for the mailing server."""
    context = browser.new_context(  # type: ignore[attr-defined]
        ignore_https_errors=True, locale="de-DE", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _row_menu(page: object, row: object) -> None:
    row.locator("details.row-menu > summary").click()  # type: ignore[attr-defined]


def test_copy_edit_preview_activate_and_send_a_template(
    mail_page: object, mailing_server: LiveServer, mail_server: SmtpServer
) -> None:
    page = mail_page
    login(page, mailing_server)
    page.wait_for_selector("nav.topnav")  # type: ignore[attr-defined]
    page.goto(mailing_server.url + "menu/admin/")  # type: ignore[attr-defined]
    page.click("a.tile[href='/admin/emails/']")  # type: ignore[attr-defined]
    page.wait_for_selector("table.list")  # type: ignore[attr-defined]
    assert page.locator("tr[id^=template-]").count() == 16  # type: ignore[attr-defined]

    # Copy the German invitation: the copy appears right below it, inactive.
    original = page.locator("tr", has_text="Einladungs-E-Mail (de)").first  # type: ignore[attr-defined]
    original_id = original.get_attribute("id")
    _row_menu(page, original)
    original.locator("form[action$='/copy/'] button").click()
    page.wait_for_selector(".messages .success")  # type: ignore[attr-defined]
    copy = page.locator(f"tr#{original_id} + tr")  # type: ignore[attr-defined]
    assert "is-copy" in (copy.get_attribute("class") or "")
    assert copy.locator(".badge.off").count() == 1
    copy_id = copy.get_attribute("id")

    # Edit it: an unknown placeholder is refused with its position, then a valid text saves.
    _row_menu(page, copy)
    copy.locator("a[href$='/edit/']").click()
    page.fill("input[name=name]", "Integra Einladung")  # type: ignore[attr-defined]
    page.fill("input[name=subject]", "Willkommen {user.name}")  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    error = page.inner_text(".errorlist")  # type: ignore[attr-defined]
    # "line 1, column 12" in any language: the brace after "Willkommen ".
    assert re.search(r"\b1\b.*\b12\b", error)
    assert "{user.name}" in error
    page.fill("input[name=subject]", "Willkommen bei {organisation}, {recipient_name}")  # type: ignore[attr-defined]
    body = page.input_value("textarea[name=body_text]")  # type: ignore[attr-defined]
    page.fill(  # type: ignore[attr-defined]
        "textarea[name=body_text]", "Integra begrüßt Sie herzlich.\n\n" + body
    )
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_selector(".messages .success")  # type: ignore[attr-defined]
    assert "Integra Einladung" in page.inner_text(".messages")  # type: ignore[attr-defined]

    # Preview: sample values, the HTML in its sandboxed frame.
    copy = page.locator(f"tr#{copy_id}")  # type: ignore[attr-defined]
    _row_menu(page, copy)
    copy.locator("a[href$='/preview/']").click()
    assert page.inner_text("#preview-subject") == "Willkommen bei IntegraDemo, Alex Example"  # type: ignore[attr-defined]
    assert "Integra begrüßt Sie herzlich." in page.inner_text("#preview-text")  # type: ignore[attr-defined]
    frame = page.frame_locator("iframe.email-frame")  # type: ignore[attr-defined]
    assert "Guten Tag Alex Example" in frame.locator("body").inner_text()
    screenshot(page, "email-template-preview")

    # Activate the copy: it becomes the one in use.
    page.goto(mailing_server.url + "admin/emails/?language=de&kind=invite_user")  # type: ignore[attr-defined]
    copy = page.locator(f"tr#{copy_id}")  # type: ignore[attr-defined]
    _row_menu(page, copy)
    copy.locator("form[action$='/activate/'] button").click()
    page.wait_for_selector(".messages .success")  # type: ignore[attr-defined]
    copy = page.locator(f"tr#{copy_id}")  # type: ignore[attr-defined]
    assert copy.locator(".badge.ok").count() == 1
    assert copy.locator(".badge.info").count() == 1
    screenshot(page, "email-templates-activated")

    # Send a test email: recipient address, confirm; the SMTP server receives it.
    _row_menu(page, copy)
    copy.locator("a[href$='/test/']").click()
    page.fill("input[name=to]", "qa@example.com")  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_selector(".messages .success")  # type: ignore[attr-defined]
    (received,) = mail_server.wait_for(1)
    assert received.rcpt_tos == ["qa@example.com"]
    assert received.message["Subject"] == "[Test] Willkommen bei IntegraDemo, Alex Example"
    assert received.message["From"] == "KMS <kms@example.com>"
    text = received.part("text/plain")
    assert text.startswith("Integra begrüßt Sie herzlich.")
    link = f"{mailing_server.url}example-link-of-this-email/"
    assert link in text
    assert f'href="{link}"' in received.part("text/html")

    # The outbox shows it as sent.
    page.goto(mailing_server.url + "admin/emails/outbox/")  # type: ignore[attr-defined]
    page.wait_for_selector("tr[id^=message-] .badge.ok")  # type: ignore[attr-defined]
    screenshot(page, "email-outbox")


def test_forgot_password_link_from_the_email_sets_a_new_password(
    mail_page: object, mailing_server: LiveServer, mail_server: SmtpServer
) -> None:
    page = mail_page
    before = len(mail_server.received)
    page.goto(mailing_server.url + "login/")  # type: ignore[attr-defined]
    page.click("a[href='/password/forgot/']")  # type: ignore[attr-defined]
    page.fill("input[name=email]", mailing_server.email)  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_selector("p[role=status]")  # type: ignore[attr-defined]
    received = mail_server.wait_for(before + 1)[-1]
    assert received.rcpt_tos == [mailing_server.email]
    match = re.search(r"https://\S+/password/reset/[A-Za-z0-9_-]+/", received.part("text/plain"))
    assert match
    page.goto(match.group(0))  # type: ignore[attr-defined]
    assert page.url.endswith("/password/reset/")  # type: ignore[attr-defined]
    page.fill("input[name=new_password]", NEW_PASSWORD)  # type: ignore[attr-defined]
    page.fill("input[name=confirmation]", NEW_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_selector(".messages .success")  # type: ignore[attr-defined]
    login(page, mailing_server, password=NEW_PASSWORD)
    page.wait_for_selector("nav.topnav")  # type: ignore[attr-defined]
    page.goto(match.group(0))  # type: ignore[attr-defined]
    assert page.locator("p[role=alert]").count() == 1  # type: ignore[attr-defined]
