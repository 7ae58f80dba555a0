# Every README command goes through these targets; .ci/run calls `make test`.
PYTHON := .venv/bin/python

.PHONY: setup test

# Create/update .venv with the pinned stack (idempotent, seconds when done).
setup:
	bash tools/setup_env.sh

# The test suite; pytest exits non-zero when it collects no test.
test: setup
	$(PYTHON) -m pytest tests
