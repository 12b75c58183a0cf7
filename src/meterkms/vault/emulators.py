"""Local stand-ins for the outside key services, for tests and benchmarks.

* SoftHSM2: :func:`create_softhsm_tokens` writes a private ``softhsm2.conf`` and token
  directory and initialises tokens with ``softhsm2-util``. SoftHSM reads its configuration in
  ``C_Initialize`` and sees only the tokens that exist then, so create every token first,
  then point ``SOFTHSM2_CONF`` at the file, then open providers.
* moto: :class:`MotoKmsServer` runs ``moto_server`` on a free loopback port as a separate
  process (the AWS KMS API over HTTP, with real AES-GCM and encryption-context checks, but no
  key policies) and stops it by its process id.

Nothing here is used in production code paths.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from meterkms.vault.providers.config import DEFAULT_PKCS11_MODULE

#: Placeholder credentials for moto; it accepts any.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def softhsm_util() -> str | None:
    """Path of ``softhsm2-util``, or None."""
    return shutil.which("softhsm2-util")


def softhsm_available(module: str = DEFAULT_PKCS11_MODULE) -> bool:
    """True when the SoftHSM2 module and its utility are installed."""
    return Path(module).exists() and softhsm_util() is not None


def create_softhsm_tokens(directory: Path, labels: Sequence[str], *, pin: str, so_pin: str) -> Path:
    """Create a SoftHSM2 configuration in ``directory`` with one token per label.

    Returns the path of the configuration file, to be put in ``SOFTHSM2_CONF``.
    """
    utility = softhsm_util()
    if utility is None:
        raise RuntimeError("softhsm2-util is not installed")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n",
        encoding="utf-8",
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    for label in labels:
        subprocess.run(  # noqa: S603 - fixed utility path and arguments, no shell
            [utility, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
            check=True,
            capture_output=True,
            env=env,
            timeout=30,
        )
    return conf


def moto_server_path() -> str | None:
    """Path of ``moto_server`` (next to the running interpreter, or on PATH), or None."""
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return str(beside)
    return shutil.which("moto_server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoKmsServer:
    """A ``moto_server`` process on loopback; use as a context manager."""

    def __init__(self, executable: str | None = None, *, start_timeout: float = 20.0) -> None:
        self.executable = executable or moto_server_path()
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint to give boto3."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        if self.executable is None:
            raise RuntimeError("moto_server is not installed")
        self.port = _free_port()
        # Its request log goes to stderr; DEVNULL keeps a full pipe from blocking it.
        self.process = subprocess.Popen(  # noqa: S603 - fixed executable and arguments
            [self.executable, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with status {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not listen within {self.start_timeout} s")

    def stop(self) -> None:
        """Stop the server process (by its own handle) and wait for it."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
