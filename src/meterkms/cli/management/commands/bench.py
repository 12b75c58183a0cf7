"""``meterkms bench``: run benchmark scenarios; each figure next to its raw ceiling."""

from __future__ import annotations

import json
import platform
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from meterkms.bench.registry import BenchContext, Figure, load_all


def _fresh_database() -> None:
    """Start every benchmark run on an empty database (its own ``…_bench`` one)."""
    if connection.vendor != "postgresql":
        return  # SQLite: a new file in a temporary data directory already
    import psycopg

    details = connection.settings_dict
    name = details["NAME"]
    if not name.endswith("_bench"):
        raise CommandError(f"refusing to reset {name!r}: not a benchmark database")
    connection.close()
    dsn = {
        "host": details["HOST"] or "127.0.0.1",
        "port": details["PORT"] or 5432,
        "user": details["USER"],
        "password": details["PASSWORD"],
        "dbname": "postgres",
    }
    with psycopg.connect(**{k: v for k, v in dsn.items() if v}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


class Command(BaseCommand):
    help = "Run named benchmark scenarios (all when none is named) on their own database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
        parser.add_argument("--list", action="store_true", help="list the scenarios")
        parser.add_argument("--json", action="store_true", help="print JSON for machines")
        parser.add_argument(
            "--db", default="sqlite", help="'sqlite' (a temporary file) or a PostgreSQL URL"
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="fraction of the issue's full sizes (e.g. 0.1 for a quick run)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scenarios = load_all()
        if options["list"]:
            for name, scenario in sorted(scenarios.items()):
                self.stdout.write(f"{name:24} {scenario.description}")
            return
        names = options["scenarios"] or sorted(scenarios)
        unknown = [name for name in names if name not in scenarios]
        if unknown:
            raise CommandError(f"unknown scenarios: {', '.join(unknown)} (see --list)")
        if any(scenarios[name].needs_django for name in names):
            _fresh_database()
            call_command("migrate", verbosity=0)
        quiet = options["json"]
        context = BenchContext(
            db=connection.vendor,
            scale=options["scale"],
            progress=(lambda message: None) if quiet else self._progress,
        )
        results: dict[str, list[dict[str, Any]]] = {}
        for name in names:
            started = time.perf_counter()
            figures = list(scenarios[name].func(context))
            results[name] = [self._as_dict(figure) for figure in figures]
            if not quiet:
                self._print(name, figures, time.perf_counter() - started)
        if quiet:
            self.stdout.write(
                json.dumps(
                    {
                        "machine": self._machine(),
                        "db": connection.vendor,
                        "scale": options["scale"],
                        "results": results,
                    },
                    indent=2,
                )
            )

    def _progress(self, message: str) -> None:
        self.stderr.write(f"  … {message}")

    @staticmethod
    def _as_dict(figure: Figure) -> dict[str, Any]:
        return {
            "name": figure.name,
            "value": figure.value,
            "unit": figure.unit,
            "ceiling": figure.ceiling,
            "ceiling_label": figure.ceiling_label,
            "ratio": figure.ratio,
            "goal": figure.goal,
            "passed": figure.passed,
        }

    def _print(self, name: str, figures: list[Figure], seconds: float) -> None:
        self.stdout.write(f"\n== {name} ({connection.vendor}, {seconds:.1f} s)")
        for figure in figures:
            line = f"  {figure.name:48} {figure.value:>14,.1f} {figure.unit}"
            if figure.ceiling is not None:
                line += f"   | {figure.ceiling_label}: {figure.ceiling:,.1f} {figure.unit}"
                line += f" ({figure.ratio:.0%})"
            if figure.goal:
                verdict = {True: "PASS", False: "MISS", None: ""}[figure.passed]
                line += f"   goal {figure.goal} {verdict}"
            self.stdout.write(line)

    @staticmethod
    def _machine() -> dict[str, Any]:
        import os

        return {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
