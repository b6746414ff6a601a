# The two commands: `make run` (the whole system) and `make test` (the test suite).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench bench-mail bench-exports messages install install-test clean

run: install
	$(PY) -m scripts.devstack

test: install-test
	bash scripts/system-deps.sh
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-test
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(PY) -m bench

bench-mail: install-test
	$(PY) -m bench.mail

bench-exports: install-test
	$(PY) -m bench.exports

messages: install
	$(PY) -m scripts.messages update

install:
	bash scripts/bootstrap.sh

install-test:
	bash scripts/bootstrap.sh test

clean:
	rm -rf $(VENV) var .pytest_cache
