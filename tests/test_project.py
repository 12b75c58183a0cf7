"""Project-wide rules: model census, no unscoped views, deployment checks, catalogues."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from meterkms.core.tenancy import GLOBAL, TENANT_OWNED, TenantManager

SRC = Path(__file__).resolve().parents[1] / "src" / "meterkms"


def test_every_model_declares_whether_it_is_tenant_owned() -> None:
    undeclared, unscoped = [], []
    for model in apps.get_models():
        if not model.__module__.startswith("meterkms."):
            continue
        kind = getattr(model, "tenancy_kind", None)
        if kind not in {TENANT_OWNED, GLOBAL}:
            undeclared.append(model.__name__)
        elif kind == TENANT_OWNED and not (
            isinstance(model._default_manager, TenantManager) and hasattr(model, "scope_queryset")
        ):
            unscoped.append(model.__name__)
    assert not undeclared, f"models without tenancy_kind: {undeclared}"
    assert not unscoped, f"tenant-owned models without a scoped manager: {unscoped}"


def _sources(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (SRC / folder).rglob("*.py")]


@pytest.mark.parametrize(
    "pattern", [r"\.objects\.all\(\)", r"self\.queryset", r"fields\s*=\s*[\"']__all__[\"']"]
)
def test_views_and_schemas_never_use_unscoped_or_open_ended_patterns(pattern: str) -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in _sources("web", "api")
        if re.search(pattern, path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"{pattern} found in {offenders}"


def test_no_cache_of_unsealed_values_in_views() -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in _sources("web", "api")
        if re.search(r"cache\.(set|add)\(", p.read_text(encoding="utf-8"))
    ]
    assert not offenders


@pytest.mark.django_db
def test_sqlite_runs_with_wal_and_full_synchronous() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas only apply to SQLite")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


def test_deploy_checks_are_clean_with_production_settings(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METERKMS_", "DJANGO_"))
    }
    env.update(
        {
            "METERKMS_DATA_DIR": str(tmp_path),
            "METERKMS_SECRET_KEY": "p" * 20 + "-production-secret-key-" + "q" * 20,
            "METERKMS_AUDIT_KEY": "a1" * 32,
            "METERKMS_SMTP_HOST": "smtp.example.com",
            "METERKMS_ALLOWED_HOSTS": "kms.example.com",
            "DJANGO_SETTINGS_MODULE": "meterkms.settings",
            "PYTHONPATH": str(SRC.parent),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_refuses_to_start_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERKMS_")}
    env.update(
        {
            "METERKMS_DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "meterkms.settings",
            "PYTHONPATH": str(SRC.parent),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "meterkms", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode != 0
    assert "METERKMS_SECRET_KEY is not set" in result.stderr


def test_settings_have_a_content_security_policy_without_inline_code() -> None:
    csp = settings.SECURE_CSP
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert settings.SECURE_HSTS_SECONDS >= 31_536_000


@pytest.mark.parametrize("language", ["de", "es", "sv"])
def test_catalogues_are_complete_and_compiled(language: str) -> None:
    po_path = SRC / "locale" / language / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert not untranslated, f"{language}: untranslated {untranslated[:5]}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    compiled = {entry.msgid: entry.msgstr for entry in mo}
    for entry in po.translated_entries():
        if not entry.msgid_plural:
            assert compiled.get(entry.msgid) == entry.msgstr, f"{language}: stale .mo"
