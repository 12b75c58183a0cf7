"""The ``meterkms`` command: a curated list of commands over Django's management commands.

``meterkms init`` runs before Django is configured (it creates the secrets that the settings
need); every other command is a management command of this project or of Django.
"""

from __future__ import annotations

import os
import sys

#: command → (one-line help, management command name). None: handled here, before Django.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "init": ("Create the data directory and its secret files if missing", None),
    "serve": ("Check the set-up and serve HTTPS (plus a task worker when embedded)", "serve"),
    "migrate": ("Create or update the database schema", "migrate"),
    "createadmin": ("Create an organisation administrator (role OTC_ADMIN)", "createadmin"),
    "reset-second-factor": (
        "Remove a user's second factor (lost phone and recovery codes)",
        "reset_second_factor",
    ),
    "demo": ("Load the manual's demo data and print the login", "demo"),
    "worker": ("Run the background task worker", "worker"),
    "check": ("Run Django's deployment checks and meterkms' own checks", "meterkms_check"),
    "bench": ("Run benchmark scenarios; each figure next to its raw ceiling", "bench"),
    "audit": ("Audit log tools: `audit verify` checks the HMAC chain", "audit"),
    "keys": ("Key hierarchy: `keys rotate-master`, `keys rotate-data-keys`, `keys status`", "keys"),
    "devices": ("Catalogue tools: `devices import FILE` registers devices and keys", "devices"),
    "prove": ("Prove stored keys against captured telegrams: `prove FILE --as EMAIL`", "prove"),
    "export": ("Key files: `export open FILE` verifies a downloaded file", "export"),
    "manage": ("Run any Django management command (advanced)", None),
}


def _print_help() -> None:
    print("usage: meterkms <command> [options]\n")
    print("Key management for smart-meter and IoT device keys.\n")
    print("commands:")
    width = max(len(name) for name in COMMANDS)
    for name, (summary, _target) in COMMANDS.items():
        print(f"  {name.ljust(width)}  {summary}")
    print("\n`meterkms <command> --help` describes a command's options.")
    print("Configuration: METERKMS_* environment variables (see docs/operations.md).")


def _prepare_bench_environment(argv: list[str]) -> None:
    """Point the benchmark at its own database, never at the server's."""
    from meterkms.cli.benchenv import prepare

    prepare(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``meterkms`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        _print_help()
        return
    if args[0] in {"--version", "version"}:
        from meterkms import __version__

        print(__version__)
        return
    command, rest = args[0], args[1:]
    if command == "init":
        from meterkms.cli.init import main as init_main

        sys.exit(init_main(rest))
    if command == "export" and rest[:1] == ["open"]:
        # Opening a file needs no server: a recipient runs it without any configuration.
        from meterkms.cli.exportfile import main as open_main

        sys.exit(open_main(rest[1:]))
    if command == "manage":
        target_args = rest
    elif command in COMMANDS:
        target = COMMANDS[command][1]
        assert target is not None
        target_args = [target, *rest]
        if command == "bench":
            _prepare_bench_environment(rest)
    else:
        print(f"meterkms: unknown command {command!r}\n", file=sys.stderr)
        _print_help()
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meterkms.settings")
    # The command line speaks English; the web UI follows each user's language.
    os.environ.setdefault("METERKMS_LANGUAGE", "en")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["meterkms", *target_args])
    except ImproperlyConfigured as exc:
        print(f"meterkms: configuration error: {exc}", file=sys.stderr)
        sys.exit(3)
