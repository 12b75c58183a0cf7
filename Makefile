# Shortcuts for the two README commands (dev.py works without make, too).
.PHONY: run test lint
run:
	python3 dev.py run

test:
	python3 dev.py test

lint:
	.venv/bin/ruff check src tests && .venv/bin/ruff format --check src tests
