#!/usr/bin/env bash
# Prepare this host for recording with eBPF (BCC), idempotently; each step is
# printed as `setup: ...` and skipped when already done.
#   scripts/setup-host.sh          runtime: BCC, kernel headers, python3-venv, tracefs
#   scripts/setup-host.sh --test   runtime + what the tests and the demo use
#   scripts/setup-host.sh --kernels   --test + what the kernel matrix boots guests with
#   scripts/setup-host.sh --realnode  --test + the libraries a Debian-built dashd needs
# The decisions (which host, which packages, stand-in header links) are in
# scripts/hostsetup.py, run by the system python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x /usr/bin/python3 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: not root: skipping system packages, kernel-header links and tracefs (recording needs them; run 'sudo make setup')"
        exit 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "setup: not a host this set-up knows (no apt-get); install by hand BCC's Python bindings, the kernel headers for the running kernel (/lib/modules/$(uname -r)/build), and mount tracefs at /sys/kernel/tracing" >&2
        exit 1
    fi
    echo "setup: installing python3 (the set-up runs on it)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null
fi
exec /usr/bin/python3 "$here/hostsetup.py" "$@"
