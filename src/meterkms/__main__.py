"""``python -m meterkms`` is the ``meterkms`` command."""

from meterkms.cli import main

main()
