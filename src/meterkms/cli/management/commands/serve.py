"""``meterkms serve``: check the set-up, then serve HTTPS with granian."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from meterkms.cli import preflight
from meterkms.cli.tls import self_signed


class Command(BaseCommand):
    help = "Check the set-up and serve HTTPS; in the embedded default also run a task worker."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.SERVER_HOST, help="address to bind")
        parser.add_argument(
            "--port",
            type=int,
            default=settings.SERVER_PORT,
            help="port (default 8443, or METERKMS_PORT)",
        )
        parser.add_argument("--workers", type=int, default=1, help="server processes")
        parser.add_argument(
            "--threads",
            type=int,
            default=max(2, os.cpu_count() or 2),
            help="threads per process (default: one per CPU core)",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the embedded task worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        found = preflight.problems()
        if found:
            raise CommandError(
                "meterkms cannot start:\n" + "\n".join(f"  - {problem}" for problem in found)
            )
        cert, key = self._tls(options["host"])
        # Links in emails name the address actually served (the worker and the server
        # processes read the settings anew).
        os.environ.setdefault("METERKMS_PUBLIC_URL", f"https://{options['host']}:{options['port']}")
        if settings.EMBEDDED_WORKER and not options["no_worker"]:
            self._start_worker()
        url = f"https://{options['host']}:{options['port']}/"
        self.stdout.write(f"meterkms serves {url}  (health: {url}healthz)")
        self.stdout.flush()
        from granian import Granian
        from granian.constants import Interfaces

        Granian(
            "meterkms.wsgi:application",
            address=options["host"],
            port=options["port"],
            interface=Interfaces.WSGI,
            workers=options["workers"],
            blocking_threads=options["threads"],
            ssl_cert=cert,
            ssl_key=key,
            log_access=True,
        ).serve()

    def _tls(self, host: str) -> tuple[Path, Path]:
        if settings.TLS_CERT_FILE:
            return Path(settings.TLS_CERT_FILE), Path(settings.TLS_KEY_FILE)
        hosts = sorted({host, "127.0.0.1", "localhost", *settings.ALLOWED_HOSTS} - {"*", ""})
        cert, key = self_signed(settings.DATA_DIR / "tls", hosts)
        self.stdout.write(f"self-signed certificate: {cert}")
        return cert, key

    def _start_worker(self) -> None:
        worker = subprocess.Popen([sys.executable, "-m", "meterkms", "worker"])
        atexit.register(worker.terminate)
        self.stdout.write(f"task worker started (pid {worker.pid})")
