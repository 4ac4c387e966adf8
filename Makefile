# p2pcap: every target sets up what it needs first, idempotently.
#   make demo    record the bundled stand-in node replaying a regtest-like session, then show it
#   make test    run the whole test suite (the eBPF tests need root)
#   make bench   print the benchmark figures
#   make setup   only the set-up: Debian packages, kernel-header links, tracefs, .venv, stand-in node
SHELL := /bin/bash
PYTHON_SYSTEM := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STANDIN := build/p2p-standin

.PHONY: setup host venv standin demo test bench clean

setup: host venv standin

host:
	@scripts/setup-host.sh

# Debian's python3 with system site packages: BCC's bindings (python3-bpfcc)
# exist only for that interpreter.
$(VENV)/.stamp: pyproject.toml | host
	@echo "setup: creating $(VENV) from $(PYTHON_SYSTEM) (with system site packages, for BCC)"
	@test -x $(PY) || $(PYTHON_SYSTEM) -m venv --system-site-packages $(VENV)
	@echo "setup: installing p2pcap (editable) and its test dependencies into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(VENV)/.stamp

$(STANDIN): tests/standin/standin_node.c | host
	@mkdir -p build
	@echo "setup: building the stand-in node $(STANDIN)"
	@gcc -O2 -Wall -Wextra -o $@ $<

standin: $(STANDIN)

demo: setup
	@scripts/demo.sh

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build out
