"""Browser smoke test: log in over HTTPS, see the start page, switch languages, log out."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

MENUS = {
    "de": ("Admin", "Gerätekatalog", "Abmelden"),
    "en": ("Admin", "Device catalogue", "Log out"),
    "es": ("Administración", "Catálogo de dispositivos", "Cerrar sesión"),
    "sv": ("Admin", "Enhetskatalog", "Logga ut"),
}


def test_login_over_https_shows_the_start_page(page: object, meterkms_server: LiveServer) -> None:
    assert meterkms_server.url.startswith("https://")
    login(page, meterkms_server)
    page.wait_for_selector("text=Willkommen, Demo Integra")
    nav = page.inner_text("nav.topnav")
    assert "Admin" in nav
    assert "Gerätekatalog" in nav
    shot = screenshot(page, "start-page")
    assert shot.stat().st_size > 10_000


def test_language_switch_changes_the_ui_and_is_kept(
    page: object, meterkms_server: LiveServer
) -> None:
    login(page, meterkms_server)
    page.wait_for_selector("nav.topnav")
    for code, (admin, catalogue, logout) in MENUS.items():
        page.click("details.user-menu > summary")
        page.click(f"details.user-menu button[name=language][value={code}]")
        page.wait_for_selector(f"html[lang={code}]")
        nav = page.inner_text("nav.topnav")
        assert admin in nav
        assert catalogue in nav
        page.click("details.user-menu > summary")
        assert page.is_visible(f"text={logout}")
        page.keyboard.press("Escape")
        screenshot(page, f"start-page-{code}")
    page.click("details.user-menu > summary")
    page.click("details.user-menu button[name=language][value=de]")
    page.wait_for_selector("html[lang=de]")


def test_profile_and_logout(page: object, meterkms_server: LiveServer) -> None:
    login(page, meterkms_server)
    page.click("details.user-menu > summary")
    page.click("text=Profil")
    page.wait_for_selector("h1:has-text('Profil')")
    assert "demo@integra-metering.com" in page.inner_text("main")
    assert "IntegraDemo" in page.inner_text("main")
    page.click("details.user-menu > summary")
    page.click("text=Abmelden")
    page.wait_for_selector("input[name=username]")
    page.goto(meterkms_server.url + "profile/")
    assert "/login/" in page.url
