#!/usr/bin/env bash
# Prepare this host for recording with eBPF (BCC), idempotently.
# What it does, step by step, is printed as it goes; a step already done is
# skipped.  Needs root for steps 1-3 (apt, /lib/modules, mount).
#   1. Debian packages: python3-bpfcc (BCC + bindings), systemtap-sdt-dev
#      (<sys/sdt.h> for the stand-in node), linux-headers-cloud-amd64 (the
#      headers BCC compiles against), gcc, python3-venv, tshark (the tests
#      read `p2pcap export` pcapng files with it).
#   2. /lib/modules/$(uname -r)/{build,source} -> the Debian header folders
#      (BCC looks there; Debian splits the headers in two).
#   3. tracefs mounted at /sys/kernel/tracing (detaching uprobes needs it).
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    say "not root: skipping system packages, kernel-header links and tracefs (recording needs them; run 'sudo make setup')"
    exit 0
fi

packages=(python3-bpfcc systemtap-sdt-dev linux-headers-cloud-amd64 gcc make python3-venv python3-dev tshark)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

kver="$(uname -r)"
moddir="/lib/modules/$kver"
if [ ! -e "$moddir/build/include/linux/kconfig.h" ] && [ ! -e "$moddir/source/include/linux/kconfig.h" ]; then
    build_dir="$(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)"
    common_dir="$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$build_dir" ] || [ -z "$common_dir" ]; then
        say "error: no Debian kernel headers under /usr/src (linux-headers-cloud-amd64)" >&2
        exit 1
    fi
    say "linking kernel headers: $moddir/build -> $build_dir, $moddir/source -> $common_dir"
    mkdir -p "$moddir"
    ln -sfn "$build_dir" "$moddir/build"
    ln -sfn "$common_dir" "$moddir/source"
else
    say "kernel headers reachable at $moddir"
fi

if ! mountpoint -q /sys/kernel/tracing; then
    say "mounting tracefs at /sys/kernel/tracing"
    mount -t tracefs nodev /sys/kernel/tracing
else
    say "tracefs mounted"
fi
