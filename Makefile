# p2pcap: every target sets up what it needs first, idempotently.
#   make demo          record the bundled stand-in node replaying a regtest-like session, then show it
#   make test          run the whole test suite (the eBPF tests need root)
#   make lint          ruff format --check and ruff check, as .ci/run does
#   make bench         print the benchmark figures
#   make kernel-matrix the live tests on every kernel p2pcap claims, booted under qemu, and the
#                      interpreter- and BCC-dependent tests in Debian 13's userland (tests/kernels)
#   make test-realnode DASHD=PATH [DASH_FUNCTIONAL=PATH]
#                      p2pcap against a real dashd and its own -capturemessages (tests/realnode)
#   make demo DASHD=PATH   the demo on a real regtest dashd instead of the stand-in
#   make setup         only the runtime set-up: system packages, kernel headers, tracefs, .venv
#   sudo make install  p2pcap as a system tool: its own environment in $(LIBDIR), $(BINDIR)/p2pcap
#   sudo make uninstall
SHELL := /bin/bash
PYTHON_SYSTEM := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STANDIN := build/p2p-standin
PIP_FLAGS := --quiet --disable-pip-version-check
# Where `make install` puts p2pcap (override for a staged or test install:
# make install PREFIX=/tmp/p).  A venv is not relocatable, so there is no
# DESTDIR: the environment works only at the path it was created at.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib/p2pcap
BINDIR ?= $(PREFIX)/bin
# What `pip install` builds from (pyproject.toml's package folders).
DIST_FILES := pyproject.toml setup.py README.md p2pcap capture decoders formats

.PHONY: setup host host-test venv standin demo test test-realnode lint bench kernel-matrix \
	install uninstall clean

setup: host venv

# Runtime: BCC, kernel headers, python3-venv (+ the C toolchain pip needs), tracefs.
# Under test, demo, bench and standin (and whatever they need first) it is
# the test set-up: runtime + make, <sys/sdt.h>, tshark.  One run either way.
HOST_FLAGS :=
standin: HOST_FLAGS := --test
test: HOST_FLAGS := --test
bench: HOST_FLAGS := $(if $(DASHD),--realnode,--test)
kernel-matrix: HOST_FLAGS := --kernels
# A real dashd (Debian-built) also needs its shared libraries: libevent, GMP, SQLite.
test-realnode: HOST_FLAGS := --realnode
demo: HOST_FLAGS := $(if $(DASHD),--realnode,--test)
host:
	@scripts/setup-host.sh $(HOST_FLAGS)

host-test:
	@scripts/setup-host.sh --test

# Debian's python3 with system site packages: BCC's bindings (python3-bpfcc)
# exist only for that interpreter.
$(VENV)/.stamp: pyproject.toml setup.py formats/_blockwalk.c formats/_payloadjson.c formats/_accel.h | host
	@echo "setup: creating $(VENV) from $(PYTHON_SYSTEM) (with system site packages, for BCC)"
	@test -x $(PY) || $(PYTHON_SYSTEM) -m venv --system-site-packages $(VENV)
	@echo "setup: installing p2pcap (editable) and its test dependencies into $(VENV)"
	@$(PY) -m pip install $(PIP_FLAGS) -e '.[test]'
	@touch $@

venv: $(VENV)/.stamp

$(STANDIN): tests/standin/standin_node.c tests/standin/trace.h | host
	@mkdir -p build
	@echo "setup: building the stand-in node $(STANDIN)"
	@gcc -O2 -Wall -Wextra -o $@ $<

# Builds that look more like dashd (tests/standin/README.md): USDT semaphores
# (-sema), C++ with stack-slot probe operands and threads (-cxx).
build/p2p-standin-sema: tests/standin/standin_node.c tests/standin/trace.h | host
	@mkdir -p build
	@echo "setup: building the stand-in node $@"
	@gcc -O2 -Wall -Wextra -DSTANDIN_SEMAPHORES -o $@ $<

build/p2p-standin-cxx build/p2p-standin-cxx-sema: build/p2p-standin-cxx%: tests/standin/standin_node.cpp tests/standin/trace.h | host
	@mkdir -p build
	@echo "setup: building the stand-in node $@"
	@g++ -O2 -Wall -Wextra -std=c++17 -pthread $(if $*,-DSTANDIN_SEMAPHORES) -o $@ $<

standin: $(STANDIN) build/p2p-standin-sema build/p2p-standin-cxx build/p2p-standin-cxx-sema

# DASHD=PATH: record a real regtest dashd instead of the stand-in node.
demo: host venv standin
	@DASHD="$(if $(DASHD),$(abspath $(DASHD)))" scripts/demo.sh

test: host venv standin
	$(PY) -m pytest -q

# The real-node tier (tests/realnode, its own pytest run): a dashd built with
# USDT probes, DASHD=PATH, and for the masternode networks Dash Core's
# test/functional folder of the same version, DASH_FUNCTIONAL=PATH.
# .ci/run points both at ../shared/dashcore and sets P2PCAP_REQUIRE_REALNODE=1.
# Without DASHD it stops in one line, before any set-up, with make's status 2.
ifneq ($(filter test-realnode,$(MAKECMDGOALS)),)
ifeq ($(DASHD),)
$(error test-realnode needs DASHD=PATH, a dashd built with USDT probes (and DASH_FUNCTIONAL=PATH, its Dash Core test/functional folder, for the masternode networks))
endif
endif
test-realnode: host venv
	DASHD="$(abspath $(DASHD))" DASH_FUNCTIONAL="$(if $(DASH_FUNCTIONAL),$(abspath $(DASH_FUNCTIONAL)))" \
	    $(PY) -m pytest -q tests/realnode

# The formatter and the linter, as configured in pyproject.toml ([tool.ruff]).
lint: host venv
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

# DASHD=PATH: benchmarks/bench_realnode.py also measures a real dashd.
bench: host venv standin
	$(if $(DASHD),DASHD="$(abspath $(DASHD))") $(PY) benchmarks/run_all.py

kernel-matrix: host venv standin
	$(PY) tests/kernels/matrix.py
	$(PY) tests/kernels/userland.py

# Not editable: the installed tool keeps working when this clone is moved or
# deleted.  It is built from a copy, so the clone gets no build files.
install: host
	@echo "install: creating $(LIBDIR) from $(PYTHON_SYSTEM) (with system site packages, for BCC)"
	@mkdir -p $(LIBDIR) $(BINDIR) 2>/dev/null && test -w $(LIBDIR) -a -w $(BINDIR) || \
	    { echo "install: cannot write $(LIBDIR) and $(BINDIR): run 'sudo make install'" >&2; exit 1; }
	@test -x $(LIBDIR)/bin/python || $(PYTHON_SYSTEM) -m venv --system-site-packages $(LIBDIR)
	@echo "install: installing p2pcap (not editable) into $(LIBDIR)"
	@src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	    cp -r $(DIST_FILES) "$$src" && \
	    $(LIBDIR)/bin/python -m pip install $(PIP_FLAGS) "$$src"
	@ln -sfn $(LIBDIR)/bin/p2pcap $(BINDIR)/p2pcap
	@echo "install: $(BINDIR)/p2pcap -> $(LIBDIR)/bin/p2pcap ($$($(BINDIR)/p2pcap --version))"

uninstall:
	@if [ -L $(BINDIR)/p2pcap ] && [ "$$(readlink $(BINDIR)/p2pcap)" = $(LIBDIR)/bin/p2pcap ]; then \
	    echo "uninstall: removing $(BINDIR)/p2pcap"; rm -f $(BINDIR)/p2pcap; \
	elif [ -e $(BINDIR)/p2pcap ]; then \
	    echo "uninstall: $(BINDIR)/p2pcap is not the link make install made: left alone"; fi
	@if [ -d $(LIBDIR) ]; then echo "uninstall: removing $(LIBDIR)"; rm -rf $(LIBDIR); \
	else echo "uninstall: $(LIBDIR) is not there"; fi

clean:
	rm -rf build out
