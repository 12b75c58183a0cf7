#!/usr/bin/env python3
"""Set-up and test runner of meterkms: the two commands of the README.

    python3 dev.py run    # venv + install + init + migrate + demo data + HTTPS server
    python3 dev.py test   # venv + test dependencies + the whole suite (SQLite, PostgreSQL)

Runs on any Python 3.8+; it finds a Python >= 3.12 for the virtual environment (on PATH,
else through pyenv) and says clearly when there is none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own pytest reports
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_VERSION = (3, 12)
ARTIFACTS = ROOT / "test-artifacts"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/meterkms"


def say(message: str) -> None:
    print(f"[meterkms] {message}", flush=True)


def _version_of(python: str, env: dict | None = None) -> tuple | None:
    try:
        out = subprocess.run(  # noqa: S603
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=20, env=env, check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _pyenv_candidates() -> list[str]:
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return []
    try:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True,  # noqa: S603
                              check=True).stdout.strip()
        versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True,  # noqa: S603
                                  text=True, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for version in versions:
        parts = version.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            python = Path(root) / "versions" / version / "bin" / "python"
            if python.exists():
                found.append(((int(parts[0]), int(parts[1])), str(python)))
    return [python for _v, python in sorted(found, reverse=True)]


def find_python() -> str:
    """A Python >= 3.12 interpreter, or exit with a clear message."""
    if sys.version_info[:2] >= MIN_VERSION:
        return sys.executable
    candidates = [shutil.which(name) for name in ("python3.14", "python3.13", "python3.12",
                                                  "python3", "python")]
    for python in [c for c in candidates if c] + _pyenv_candidates():
        version = _version_of(python)
        if version and version >= MIN_VERSION:
            return python
    sys.exit(
        "meterkms needs Python 3.12 or newer and none was found (looked on PATH for "
        "python3.14/3.13/3.12/python3 and in pyenv). Install one, e.g. `pyenv install 3.12`, "
        "then run this command again."
    )


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(extras: str) -> Path:
    """The project's virtual environment with meterkms (and ``extras``) installed."""
    python = venv_python()
    if not python.exists() or (_version_of(str(python)) or (0, 0)) < MIN_VERSION:
        base = find_python()
        say(f"creating {VENV} with {base}")
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)  # noqa: S603
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],  # noqa: S603
                       check=True)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        target = f".[{extras}]" if extras else "."
        say(f"installing meterkms{f' with {extras}' if extras else ''} (pip)")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", target],  # noqa: S603
                       check=True, cwd=ROOT)
        stamp.write_text(digest)
    return python


def run(args: list[str]) -> int:
    """Install, prepare the embedded default and serve it."""
    python = ensure_venv("")
    meterkms = [str(python), "-m", "meterkms"]
    if "--port" in args[:-1]:
        # The demo step prints the URL and invitation links use it: one port for all steps.
        os.environ["METERKMS_PORT"] = args[args.index("--port") + 1]
    for step in (["init"], ["migrate", "-v", "0"], ["demo"]):
        subprocess.run(meterkms + step, check=True, cwd=ROOT)  # noqa: S603
    return subprocess.call(meterkms + ["serve", *args], cwd=ROOT)  # noqa: S603


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def postgres_reachable(url: str, python: Path) -> str:
    """Empty string when PostgreSQL answers at ``url``, else the reason."""
    probe = (
        "import sys, psycopg\n"
        "from urllib.parse import urlsplit, urlunsplit\n"
        "u = urlsplit(sys.argv[1])\n"
        "psycopg.connect(urlunsplit(u._replace(path='/postgres')), connect_timeout=5).close()\n"
    )
    result = subprocess.run([str(python), "-c", probe, url], capture_output=True,  # noqa: S603
                            text=True)
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or ["?"])[-1]


def _report(tier: str) -> tuple[int, int, int, int]:
    """(tests, failures+errors, skipped, seconds) from the tier's JUnit XML."""
    root = ET.parse(ARTIFACTS / f"junit-{tier}.xml").getroot()  # noqa: S314
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    get = suite.attrib.get
    return (int(get("tests", 0)), int(get("failures", 0)) + int(get("errors", 0)),
            int(get("skipped", 0)), round(float(get("time", 0))))


def pytest_tier(python: Path, tier: str, env: dict, extra: list[str]) -> int:
    ARTIFACTS.mkdir(exist_ok=True)
    command = [str(python), "-m", "pytest", f"--junitxml={ARTIFACTS / f'junit-{tier}.xml'}",
               "-p", "no:cacheprovider", *extra]
    say(f"tier {tier}: {' '.join(command[2:])}")
    return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603


def test(args: list[str]) -> int:
    """Install the test dependencies and run the suite on SQLite, then on PostgreSQL."""
    python = ensure_venv("test,pkcs11,awskms")
    started = time.monotonic()
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    results: dict[str, int] = {}
    results["sqlite"] = pytest_tier(python, "sqlite", {**env, "METERKMS_TEST_DB": "sqlite"}, args)
    url = env.get("METERKMS_TEST_DATABASE_URL", DEFAULT_PG_URL)
    reason = postgres_reachable(url, python)
    if reason:
        if in_ci():
            say(f"tier postgresql FAILED: PostgreSQL at {url} is not reachable ({reason})")
            results["postgresql"] = 1
        else:
            say(f"tier postgresql SKIPPED: PostgreSQL at {url} is not reachable ({reason})")
    else:
        pg_env = {**env, "METERKMS_TEST_DB": "postgres", "METERKMS_TEST_DATABASE_URL": url}
        results["postgresql"] = pytest_tier(python, "postgresql", pg_env,
                                            ["-m", "not browser", *args])
    say("summary:")
    for tier, code in results.items():
        report = ARTIFACTS / f"junit-{tier}.xml"
        if report.exists():
            tests, failed, skipped, seconds = _report(tier)
            say(f"  {tier:11} {tests} tests, {failed} failed, {skipped} skipped, {seconds} s"
                f" -> {'ok' if code == 0 else 'FAILED'}")
        else:
            say(f"  {tier:11} FAILED (no report)")
    say(f"  total time {round(time.monotonic() - started)} s")
    return 0 if all(code == 0 for code in results.values()) else 1


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "venv"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "venv":
        print(ensure_venv("test,pkcs11,awskms"))
        return 0
    return run(rest) if command == "run" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
