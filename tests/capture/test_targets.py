"""Targets and the network they run on, from /proc: no BPF.

The network is read the way Dash Core chooses it (src/chainparamsbase.cpp):
-regtest, -testnet, -devnet=NAME, -chain=NAME on the command line, else
the same settings at the top of the configuration file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from p2pcap.capture import targets
from p2pcap.capture.program import RecordError


def sleeper(*args, cwd=None, env=None):
    """A process whose command line carries ``args`` (as dashd's would)."""
    code = "import time; time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env)
    time.sleep(0.05)
    return proc


@pytest.mark.parametrize(
    "args,network,how",
    [
        (["-regtest"], "regtest", "command line: -regtest"),
        (["-testnet=1"], "testnet", "command line: -testnet=1"),
        (["--testnet"], "testnet", "command line: -testnet"),
        (["-devnet=mydev"], "devnet", "command line: -devnet=mydev"),
        (["-chain=test"], "testnet", "command line: -chain=test"),
        (["-chain=main"], "mainnet", "command line: -chain=main"),
        (["-regtest", "-noregtest"], "mainnet", "default"),
        (["-regtest=0", "-printtoconsole"], "mainnet", "default"),
    ],
)
def test_network_from_the_command_line(args, network, how, tmp_path):
    proc = sleeper(*args, f"-datadir={tmp_path}")
    try:
        got, source, devnet = targets.infer_network(proc.pid)
    finally:
        proc.kill()
    assert got == network and source.startswith(how)
    assert devnet == ("mydev" if network == "devnet" else None)


def test_network_from_the_configuration_file(tmp_path):
    (tmp_path / "dash.conf").write_text("# a node\nserver=1\ntestnet=1\n[test]\nrpcport=1\n")
    proc = sleeper(f"-datadir={tmp_path}")
    try:
        got, source, _ = targets.infer_network(proc.pid)
    finally:
        proc.kill()
    assert got == "testnet" and source == f"configuration file {tmp_path / 'dash.conf'}: testnet=1"


def test_the_command_line_beats_the_file_and_conf_is_relative_to_datadir(tmp_path):
    (tmp_path / "other.conf").write_text("chain=regtest\n")
    proc = sleeper(f"-datadir={tmp_path}", "-conf=other.conf")
    try:
        assert targets.infer_network(proc.pid)[0] == "regtest"
    finally:
        proc.kill()
    proc = sleeper(f"-datadir={tmp_path}", "-conf=other.conf", "-testnet")
    try:
        assert targets.infer_network(proc.pid)[0] == "testnet"
    finally:
        proc.kill()


def test_default_datadir_is_in_home(tmp_path):
    (tmp_path / ".dashcore").mkdir()
    (tmp_path / ".dashcore" / "dash.conf").write_text("devnet=d1\n")
    proc = sleeper(env={**os.environ, "HOME": str(tmp_path)})
    try:
        assert targets.infer_network(proc.pid) == (
            "devnet",
            f"configuration file {tmp_path / '.dashcore' / 'dash.conf'}: devnet=d1",
            "d1",
        )
    finally:
        proc.kill()


def test_nothing_said_means_mainnet_and_says_so(tmp_path):
    proc = sleeper(f"-datadir={tmp_path}")
    try:
        network, source, _ = targets.infer_network(proc.pid)
    finally:
        proc.kill()
    assert network == "mainnet" and source.startswith("default: no network option")


def test_a_gone_process():
    assert targets.infer_network(2**22 + 12345)[0] == "unknown"


def fake_dashd(tmp_path, standin, name="dashd"):
    path = tmp_path / name
    shutil.copy(standin, path)
    return path


def start(path, *args):
    """The stand-in under another name, waiting (with dashd's options on its command line)."""
    messages = path.parent / "one.msgs"
    messages.write_text("in\t0\t127.0.0.1:1\tinbound\tping\t0000000000000000\n")
    proc = subprocess.Popen(
        [str(path), "--wait-signal", *args, str(messages)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout.readline().startswith("waiting for SIGUSR1")
    return proc


def test_without_pid_or_exe_the_one_running_dashd_is_chosen(tmp_path, standin):
    if os.geteuid() != 0:
        pytest.skip("reading /proc/PID/exe of every process needs root")
    others = targets.find_daemons()
    if others:
        pytest.skip(f"dashd processes already run here: {others}")
    with pytest.raises(RecordError, match="no running dashd found: give --pid PID or --exe PATH"):
        targets.resolve([], None)
    path = fake_dashd(tmp_path, standin)
    first = start(path, "-regtest")
    try:
        target = targets.resolve([], None)
        assert target.pids == [first.pid] and target.exe == str(path)
        assert target.found_by == "the only running dashd" and target.network == "regtest"
        assert "net:inbound_message" in target.probes and target.build_id
        second = start(path)
        try:
            with pytest.raises(RecordError, match=r"several dashd processes are running \(pids "):
                targets.resolve([], None)
        finally:
            second.kill()
    finally:
        first.kill()


def test_exe_notes_the_network_of_a_running_process(tmp_path, standin):
    if os.geteuid() != 0:
        pytest.skip("reading /proc/PID/exe needs root")
    path = fake_dashd(tmp_path, standin, "node-bin")
    target = targets.resolve([], str(path))
    assert target.pids == [] and target.network == "unknown"
    assert target.network_source == "no process of it was running at start"
    proc = start(path, "-testnet")
    try:
        target = targets.resolve([], str(path))
        assert target.network == "testnet"
        assert target.network_source == f"pid {proc.pid}, running at start: command line: -testnet"
    finally:
        proc.kill()


def test_pid_and_exe_together_is_an_error():
    with pytest.raises(RecordError, match="not both"):
        targets.resolve([1], "/bin/true")
