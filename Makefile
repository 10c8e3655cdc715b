# Thin wrapper over tasks.py (which needs only Python): `make demo`, `make test`.
.PHONY: setup demo test lint format
setup:
	python3 tasks.py setup
demo:
	python3 tasks.py demo
test:
	python3 tasks.py test
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .
