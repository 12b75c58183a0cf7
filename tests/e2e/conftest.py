"""Browser tests: the real `meterkms serve` over HTTPS, driven by Playwright + Chromium.

The server runs as its own process on a fresh data directory (SQLite, demo data), exactly
as `python3 dev.py run` starts it. Chromium is Debian's (/usr/bin/chromium); Playwright
never downloads a browser here.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tiers import require

SRC = Path(__file__).resolve().parents[2] / "src"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("METERKMS_CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORD = "Demo-Browser-Test-2026!"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class LiveServer:
    """A running meterkms: its URL, data directory and the demo login."""

    url: str
    data_dir: Path
    email: str = "demo@integra-metering.com"
    password: str = DEMO_PASSWORD

    def run(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `meterkms` command against this server's data directory."""
        return subprocess.run(
            [sys.executable, "-m", "meterkms", *args],
            env=server_env(self.data_dir),
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=300,
            input=input_text,
        )


def server_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("METERKMS_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "METERKMS_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(SRC),
            "METERKMS_DEMO_PASSWORD": DEMO_PASSWORD,
            "METERKMS_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"meterkms serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "healthz", context=context, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError("meterkms serve did not become healthy in time")


@pytest.fixture(scope="session")
def meterkms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`meterkms serve` on a free port, with demo data, for the whole session."""
    data_dir = tmp_path_factory.mktemp("live")
    env = server_env(data_dir)
    for step in (["init"], ["migrate", "-v", "0"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "meterkms", *step],
            env=env,
            cwd=data_dir,
            check=True,
            capture_output=True,
            timeout=300,
        )
    port = _free_port()
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
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(data_dir / "serve.log", ARTIFACTS / "serve.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright (fails instead of skipping under CI=true)."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package")
        raise
    # Playwright's sync API runs an event loop in this thread; the tests here never touch
    # the test database, so Django's async-safety guard does not apply to them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser: object, meterkms_server: LiveServer) -> Iterator[object]:
    """A fresh browser context (no cookies) with the server's self-signed certificate."""
    context = browser.new_context(
        ignore_https_errors=True,
        locale="de-DE",  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 800},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: object, name: str) -> Path:
    """Keep a screenshot as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def login(
    page: object, server: LiveServer, email: str | None = None, password: str | None = None
) -> None:
    """Log in through the login form."""
    page.goto(server.url)  # type: ignore[attr-defined]
    page.fill("input[name=username]", email or server.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password or server.password)  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
