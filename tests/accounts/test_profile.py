"""The profile page: name, language (stored per user) and CSV preferences."""

from __future__ import annotations

import pytest

from tests.support.personas import World


@pytest.mark.django_db
def test_profile_shows_read_only_identity_and_saves_preferences(world: World, client_for) -> None:
    client = client_for(world.olga)
    page = client.get("/profile/").content.decode()
    assert "olga@example.com" in page
    assert "Integra" in page
    assert "Key operator" in page
    response = client.post(
        "/profile/",
        {"name": "Olga O.", "language": "es", "csv_delimiter": ",", "csv_thousands_separator": "."},
    )
    assert response.status_code == 302
    world.olga.refresh_from_db()
    assert (
        world.olga.name,
        world.olga.language,
        world.olga.csv_delimiter,
        world.olga.csv_thousands_separator,
    ) == ("Olga O.", "es", ",", ".")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "word"),
    [("de", "Abmelden"), ("es", "Cerrar sesión"), ("sv", "Logga ut"), ("en", "Log out")],
)
def test_language_switch_is_stored_and_applied(
    world: World, client_for, code: str, word: str
) -> None:
    client = client_for(world.alice)
    assert client.post("/profile/language/", {"language": code, "next": "/"}).status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.language == code
    page = client.get("/")
    assert page["Content-Language"] == code
    assert word in page.content.decode()


@pytest.mark.django_db
def test_unknown_language_is_ignored(world: World, client_for) -> None:
    client = client_for(world.alice)
    client.post("/profile/language/", {"language": "xx"})
    world.alice.refresh_from_db()
    assert world.alice.language == "en"
