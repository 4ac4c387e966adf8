#!/usr/bin/env bash
# Runs inside a kernel-matrix guest (tests/kernels/matrix.py boots it with
# virtme-ng on this machine's own file system, read-only, with OUT shared
# writable).  Runs the live tests that matter for a kernel and leaves, in
# OUT: uname, verifier.json (benchmarks/bench_verifier.py), pytest.log and
# rc (pytest's exit status, written last: no rc file means the guest died).
#   guest.sh REPO OUT TEST...
set -u
repo=$1 out=$2
shift 2
cd "$repo" || exit 1
uname -r > "$out/uname"
# virtme-ng mounts tracefs; BCC and the detach path need it (mount if not).
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
export P2PCAP_REQUIRE_EBPF=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
# The repository is read-only here: no pytest cache, no bytecode.
.venv/bin/python benchmarks/bench_verifier.py --json > "$out/verifier.json" 2> "$out/verifier.err"
.venv/bin/python -m pytest -p no:cacheprovider -q -ra "$@" > "$out/pytest.log" 2>&1
echo $? > "$out/rc"
