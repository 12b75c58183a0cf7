"""Environment variables are read strictly; secrets also come from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from meterkms.core.dburl import parse_database_url
from meterkms.core.env import env_bool, env_int, env_list, env_secret


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("No", False)])
def test_env_bool_accepts_known_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("METERKMS_FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERKMS_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="METERKMS_FLAG must be true or false"):
        env_bool("FLAG", False)


def test_env_int_checks_type_and_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERKMS_N", "x")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("N", 1)
    monkeypatch.setenv("METERKMS_N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 1, minimum=1)
    monkeypatch.setenv("METERKMS_N", " 7 ")
    assert env_int("N", 1, minimum=1) == 7


def test_env_list_splits_and_drops_empty_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERKMS_HOSTS", "a.example, ,b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_env_secret_prefers_value_then_file_then_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "s"
    secret_file.write_text("from-file\n")
    fallback = tmp_path / "fallback"
    fallback.write_text("from-fallback")
    monkeypatch.delenv("METERKMS_S", raising=False)
    monkeypatch.delenv("METERKMS_S_FILE", raising=False)
    assert env_secret("S", fallback_file=fallback) == "from-fallback"
    monkeypatch.setenv("METERKMS_S_FILE", str(secret_file))
    assert env_secret("S", fallback_file=fallback) == "from-file"
    monkeypatch.setenv("METERKMS_S", "direct")
    assert env_secret("S", fallback_file=fallback) == "direct"


def test_env_secret_names_an_unreadable_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("METERKMS_S", raising=False)
    monkeypatch.setenv("METERKMS_S_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read the secret file"):
        env_secret("S")


def test_database_urls() -> None:
    pg = parse_database_url("postgresql://u:p%40ss@db.example:6543/kms?sslmode=require")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "kms",
        "u",
        "p@ss",
        "db.example",
        "6543",
    )
    assert pg["OPTIONS"] == {
        "sslmode": "require",
        "options": "-c max_parallel_workers_per_gather=0",
    }
    tuned = parse_database_url("postgresql:///kms?options=-c%20max_parallel_workers_per_gather%3D4")
    assert tuned["OPTIONS"]["options"] == (
        "-c max_parallel_workers_per_gather=0 -c max_parallel_workers_per_gather=4"
    )
    lite = parse_database_url("sqlite:////var/lib/meterkms/db.sqlite3")
    assert lite["NAME"] == "/var/lib/meterkms/db.sqlite3"
    assert "synchronous=FULL" in lite["OPTIONS"]["init_command"]
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme"):
        parse_database_url("mysql://x/y")


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="runs in the PostgreSQL pass of the suite",
)
@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_connections_start_no_parallel_workers_unless_the_url_says() -> None:
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
    current = connection.settings_dict
    tuned = parse_database_url("postgresql:///x?options=-c%20max_parallel_workers_per_gather%3D3")
    with psycopg.connect(
        host=current["HOST"],
        port=current["PORT"] or None,
        user=current["USER"],
        dbname=current["NAME"],
        options=tuned["OPTIONS"]["options"],
    ) as other:
        assert other.execute("SHOW max_parallel_workers_per_gather").fetchone()[0] == "3"
