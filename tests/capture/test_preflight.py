"""Preflight checks, each forced to fail through its input, and the one-line
diagnosis of BPF load failures from realistic verifier and clang output."""

from __future__ import annotations

import os

import pytest

from p2pcap.capture import loadlog, preflight, program
from p2pcap.capture.elfnotes import ProbeNote, read_elf_info
from p2pcap.capture.preflight import FAIL, OK, WARN, Check

ALL_CAPS = (1 << 21) | (1 << 38) | (1 << 39)


# -- privileges ----------------------------------------------------------------


def test_root_is_enough():
    assert preflight.check_privileges(0, 0) == Check("privileges", OK, "privileges: root")


def test_no_privilege_fails():
    check = preflight.check_privileges(1000, 0)
    assert check.status == FAIL
    assert check.text == (
        "recording needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN "
        "(uid 1000 is missing CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): run it with sudo"
    )
    assert check.line().startswith("FAIL  recording needs root")


def test_capabilities_without_root():
    assert preflight.check_privileges(1000, ALL_CAPS).status == OK
    assert "missing CAP_PERFMON" in preflight.check_privileges(1000, ALL_CAPS & ~(1 << 38)).text


def test_read_capeff():
    status = "Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
    assert preflight.read_capeff(status) == 0x1FFFFFFFFFF
    assert preflight.read_capeff("Name:\tcat\n") == 0


# -- kernel --------------------------------------------------------------------


def test_kernel_too_old():
    check = preflight.check_kernel("5.4.0-100-generic")
    assert check.status == FAIL
    assert check.text == "kernel 5.4.0 is too old: p2pcap needs Linux 5.8 or newer (BPF ring buffer)"


def test_tested_kernel():
    check = preflight.check_kernel("6.18.44-fc-v973", btf=True)
    assert check.line() == "ok    kernel 6.18.44 (ring buffer: yes, BTF: yes)"
    assert (
        preflight.check_kernel("5.10.0-46-amd64", btf=False).text
        == "kernel 5.10.0 (ring buffer: yes, BTF: no)"
    )


@pytest.mark.parametrize("release", ["5.15.0-91-generic", "6.8.0-31-generic", "5.8.0"])
def test_untested_kernel_warns_but_passes(release):
    check = preflight.check_kernel(release)
    assert check.status == WARN and "untested kernel" in check.text


def test_kernel_release_not_understood():
    assert preflight.check_kernel("weird").status == WARN


# -- BCC -----------------------------------------------------------------------


def test_bcc_too_old():
    check = preflight.check_bcc("0.12.0")
    assert check.status == FAIL
    assert check.text.startswith("BCC 0.12.0 is too old: p2pcap needs BCC 0.16 or newer")


def test_bcc_missing_says_what_to_install():
    check = preflight.check_bcc(None)
    assert check.status == FAIL and "python3-bpfcc" in check.text


def test_pypi_bcc_is_not_bcc():
    check = preflight.check_bcc(None, is_bcc=False, where="/venv/lib/python3.11/site-packages/bcc")
    assert check.status == FAIL and "not BCC" in check.text and "python3-bpfcc" in check.text


def test_bcc_recent():
    assert preflight.check_bcc("0.26.0") == Check("bcc", OK, "BCC 0.26.0")


def test_bcc_facts_here():
    version, is_bcc, _ = preflight.bcc_facts()
    if version is None and is_bcc:
        pytest.skip("no bcc module here")
    assert is_bcc and preflight.check_bcc(version).status == OK


# -- headers and tracefs -------------------------------------------------------


def test_headers_missing():
    check = preflight.check_headers("6.1.0-9-amd64", exists=lambda path: False)
    assert check.status == FAIL
    assert check.text == (
        "kernel headers missing at /lib/modules/6.1.0-9-amd64/build: run 'sudo make setup' "
        "(or install linux-headers-6.1.0-9-amd64)"
    )


def test_headers_found_in_source():
    check = preflight.check_headers(
        "6.1.0-9-amd64", exists=lambda path: "/source/" in path, realpath=lambda path: path
    )
    assert check == Check("headers", OK, "kernel headers at /lib/modules/6.1.0-9-amd64/source")


def test_headers_say_where_the_link_goes():
    check = preflight.check_headers(
        "6.1.0-9-amd64",
        exists=lambda path: True,
        realpath=lambda path: "/usr/src/linux-headers-6.1.0-9-amd64",
    )
    assert check.text.endswith("(-> /usr/src/linux-headers-6.1.0-9-amd64)")


def test_tracefs_missing():
    check = preflight.check_tracefs(ismount=lambda path: False, isdir=lambda path: False)
    assert check.status == FAIL and "mount -t tracefs" in check.text


def test_tracefs_under_debugfs():
    check = preflight.check_tracefs(ismount=lambda path: False, isdir=lambda path: "debug" in path)
    assert check.text == "tracefs mounted at /sys/kernel/debug/tracing"


# -- probes --------------------------------------------------------------------

ARGS6 = "-8@%rax 8@%rcx 8@%r8 8@%r9 8@%rsi 8@%rdx"


def test_binary_without_probes():
    path = os.path.realpath("/bin/true")
    checks = preflight.check_probes(read_elf_info(path).notes, path)
    assert [c.status for c in checks] == [FAIL, FAIL]
    assert checks[0].text.startswith(f"{path} has no net:inbound_message probe")


def test_probes_with_semaphores_say_how_they_are_raised():
    notes = [
        ProbeNote("net", "inbound_message", 0x1000, 0x4A2B10, ARGS6),
        ProbeNote("net", "outbound_message", 0x2000, 0, ARGS6),
    ]
    inbound, outbound = preflight.check_probes(notes, "/usr/bin/dashd")
    assert inbound.line() == (
        f"ok    net:inbound_message in /usr/bin/dashd: 6 arguments ({ARGS6}); semaphore at 0x4a2b10: "
        "raised by the kernel while recording (uprobe reference counter)"
    )
    assert outbound == Check(
        "probe", OK, f"net:outbound_message in /usr/bin/dashd: 6 arguments ({ARGS6}), no semaphore"
    )


def test_probe_with_an_operand_p2pcap_cannot_read_fails():
    notes = [
        ProbeNote("net", "inbound_message", 0x1000, 0, "-8@%rax 8@%rcx 8@%r8 8@%r9 8@%rsi 8@foo(%rip)"),
        ProbeNote("net", "outbound_message", 0x2000, 0, ARGS6),
    ]
    inbound, outbound = preflight.check_probes(notes, "dashd")
    assert inbound.status == FAIL
    assert inbound.text == (
        "net:inbound_message in dashd: probe argument '8@foo(%rip)': operand 'foo(%rip)' "
        "is not supported (x86-64 register, offset(register) or $constant)"
    )
    assert outbound.status == OK


def test_probe_with_other_arguments_fails():
    notes = [
        ProbeNote("net", "inbound_message", 0x1000, 0, "-8@%rax 8@%rcx 8@%r8 8@%r9 8@%rsi"),
        ProbeNote("net", "outbound_message", 0x2000, 0, ARGS6),
    ]
    inbound, _ = preflight.check_probes(notes, "dashd")
    assert inbound.status == FAIL and "has 5 arguments, p2pcap reads 6" in inbound.text


def test_argument_count_on_arm64():
    note = ProbeNote("net", "inbound_message", 0, 0, "-8@x19 8@x20 8@[sp, 96] 8@x22 8@[sp, 104] 8@x1")
    assert note.argument_count == 6
    assert ProbeNote("p", "n", 0, 0, "").argument_count == 0


def test_standin_probes(standin):
    info = read_elf_info(standin)
    assert [(n.name, n.argument_count, n.semaphore) for n in info.notes] == [
        ("inbound_message", 6, 0),
        ("outbound_message", 6, 0),
    ]
    assert info.probes == [("net", "inbound_message"), ("net", "outbound_message")]


def test_target_checks_for_a_missing_pid_and_file():
    assert preflight.target_checks([999999999])[0].text == "no process with pid 999999999"
    assert preflight.target_checks([], "/nonexistent/dashd")[0].status == FAIL


# -- record stops at the first failure -----------------------------------------


def test_record_stops_at_the_first_failure(monkeypatch):
    monkeypatch.setattr(
        preflight,
        "environment_checks",
        lambda: [
            Check("privileges", OK, "privileges: root"),
            preflight.check_kernel("5.4.0-100-generic"),
            preflight.check_bcc("0.12.0"),
        ],
    )
    with pytest.raises(program.RecordError) as raised:
        program.check_environment()
    assert str(raised.value) == "kernel 5.4.0 is too old: p2pcap needs Linux 5.8 or newer (BPF ring buffer)"


def test_check_environment_passes_here(ebpf):
    program.check_environment()


# -- verifier logs -------------------------------------------------------------

# The tail of Linux 5.10 rejecting p2p_messages.bpf.c, as libbcc prints it.
LOG_5_10 = """\
bpf: Failed to load program: Permission denied
0: (bf) r6 = r1
1: (b7) r1 = 0
549: (07) r2 += -64
550: (bf) r1 = r0
551: (85) call bpf_probe_read_user#112
R2 min value is negative, either use unsigned or 'var &= const'
processed 5242 insns (limit 1000000) max_states_per_insn 4 total_states 164 peak_states 75 mark_read 15

HINT: The invalid mem access 'inv' error can happen if you try to dereference memory without first using bpf_probe_read_kernel() to copy it to the BPF stack.
"""
MESSAGE = "Failed to load BPF program b'trace_inbound': Permission denied"


def test_verifier_reason_from_5_10():
    failure = loadlog.diagnose(MESSAGE, LOG_5_10)
    assert (failure.kind, failure.function) == ("verifier", "trace_inbound")
    assert failure.reason == "R2 min value is negative, either use unsigned or 'var &= const'"
    line = loadlog.one_line(failure, release="5.10.0-46-amd64", log_path="/tmp/p2pcap-verifier-1234.log")
    assert line == (
        "the BPF program was rejected by the kernel 5.10.0-46-amd64 verifier at trace_inbound: "
        "R2 min value is negative, either use unsigned or 'var &= const' "
        "(full log: /tmp/p2pcap-verifier-1234.log)"
    )


def test_verifier_reason_is_the_first_of_several_lines():
    log = """\
bpf: Failed to load program: Permission denied
; if (slot->epoch != e) @ main.c:212
37: (61) r1 = *(u32 *)(r0 +8)         ; R0=map_value(map=peer_cache,ks=4,vs=8) R1_w=scalar()
38: (79) r2 = *(u64 *)(r0 +8)
invalid access to map value, value_size=8 off=8 size=8
R0 min value is outside of the allowed memory range
processed 38 insns (limit 1000000) max_states_per_insn 0 total_states 2 peak_states 2 mark_read 1
"""
    failure = loadlog.diagnose(MESSAGE, log)
    assert failure.reason == "invalid access to map value, value_size=8 off=8 size=8"


def test_verifier_reason_with_newer_state_lines():
    log = """\
bpf: Failed to load program: Permission denied
0: R1=ctx() R10=fp0
; int f(void *ctx) { @ main.c:13
4: (bf) r2 = r0                       ; R0=scalar(id=1) R2=scalar(id=1)
5: (b7) r3 = 0                        ; R3=0
6: (85) call bpf_probe_read_user#112
R2 min value is negative, either use unsigned or 'var &= const'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""
    assert loadlog.diagnose(MESSAGE, log).reason.startswith("R2 min value is negative")


def test_verifier_log_cut_short():
    log = "bpf: Failed to load program: Permission denied\n12: (bf) r1 = r0\nR1 invalid mem access 'scalar'\n13: (05) goto"
    assert loadlog.diagnose(MESSAGE, log).reason == "R1 invalid mem access 'scalar'"


def test_too_complex_on_bcc_0_26():
    # BCC 0.26 misreports E2BIG as the pre-5.2 4096-instruction limit.
    log = "bpf: Argument list too long. Program  too large (669 insns), at most 4096 insns\n"
    failure = loadlog.diagnose("Failed to load BPF program b'trace_outbound': Argument list too long", log)
    assert failure.kind == "too-complex"
    line = loadlog.one_line(failure, release="6.1.0-9-amd64", log_path="/tmp/x.log")
    assert line == (
        "the BPF program at trace_outbound is too complex for this kernel's verifier "
        "(1M instruction budget) on kernel 6.1.0-9-amd64 (full log: /tmp/x.log)"
    )


def test_too_complex_from_the_kernel_log():
    log = (
        "bpf: Failed to load program: Argument list too long\n1234: (bf) r1 = r0\n"
        "BPF program is too large. Processed 1000001 insn\n"
        "processed 1000001 insns (limit 1000000) max_states_per_insn 34 total_states 51234\n"
    )
    assert (
        loadlog.diagnose("Failed to load BPF program b'trace_inbound': Argument list too long", log).kind
        == "too-complex"
    )


def test_clang_error():
    log = """\
/virtual/main.c:2:27: error: use of undeclared identifier 'undefined_thing'
int f(void *ctx) { return undefined_thing; }
                          ^
1 error generated.
"""
    failure = loadlog.diagnose("Failed to compile BPF module <text>", log, source_name="p2p_messages.bpf.c")
    assert failure.kind == "compile"
    assert failure.reason == "p2p_messages.bpf.c:2:27: error: use of undeclared identifier 'undefined_thing'"
    assert "headers" not in loadlog.one_line(failure, release="6.1.0", log_path=None)


def test_clang_error_from_missing_headers_points_at_them():
    log = (
        "In file included from /virtual/main.c:2:\n"
        "/lib/modules/6.1.0-9-amd64/build/include/linux/types.h:6:10: fatal error: 'asm/types.h' file not found\n"
        "1 error generated.\n"
    )
    failure = loadlog.diagnose("Failed to compile BPF module <text>", log)
    line = loadlog.one_line(failure, release="6.1.0-9-amd64", log_path="/tmp/x.log")
    assert line.startswith(
        "the BPF program did not compile: /lib/modules/6.1.0-9-amd64/build/include/linux/"
        "types.h:6:10: fatal error: 'asm/types.h' file not found (full log: /tmp/x.log)"
    )
    assert "p2pcap doctor" in line


def test_eperm():
    failure = loadlog.diagnose("Failed to load BPF program b'trace_inbound': Operation not permitted", "")
    assert failure.kind == "permission"
    assert "refused to load BPF programs at trace_inbound (Operation not permitted)" in loadlog.one_line(
        failure, release="6.1.0", log_path=None
    )


# -- fd 2 and the log file -----------------------------------------------------


def test_captured_stderr_takes_fd_2(capfd):
    with loadlog.captured_stderr() as log:
        os.write(2, b"straight to fd 2\n")
        os.system("echo from a child >&2")
    assert log.text == "straight to fd 2\nfrom a child\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_captured_stderr_gives_fd_2_back_on_error(capfd):
    with pytest.raises(RuntimeError), loadlog.captured_stderr() as log:
        os.write(2, b"before the error\n")
        raise RuntimeError("boom")
    assert log.text == "before the error\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_captured_stderr_leaves_the_low_descriptors_to_bcc():
    # libbcc's USDT contexts close a stale descriptor number when destroyed;
    # shifting BCC's numbers would put a live program's descriptor there.
    before = os.open(os.devnull, os.O_RDONLY)
    os.close(before)
    with loadlog.captured_stderr():
        inside = os.open(os.devnull, os.O_RDONLY)
        os.close(inside)
    assert inside == before


def test_log_file_does_not_follow_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    planted = tmp_path / "p2pcap-verifier-1.log"
    planted.symlink_to(victim)
    path = loadlog.write_log("the log", str(planted))
    assert path and path != str(planted) and open(path).read() == "the log"
    assert victim.read_text() == "keep me"


def test_log_path_prefers_xdg_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert loadlog.log_path_for(1234) == str(tmp_path / "p2pcap-verifier-1234.log")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "absent"))
    assert loadlog.log_path_for(1234).endswith("/p2pcap-verifier-1234.log")


BROKEN = r"""
int broken(void *ctx)
{
    char buf[8];
    int n = bpf_get_prandom_u32();  /* may be negative: the verifier says so */
    bpf_probe_read_user(buf, n, 0);
    return buf[0];
}
"""


def test_a_rejected_program_gives_one_line_and_a_log_file(ebpf, capfd, tmp_path, monkeypatch):
    import bcc

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    capfd.readouterr()
    try:
        with loadlog.captured_stderr() as log:
            bpf = bcc.BPF(text=BROKEN)
            bpf.load_func("broken", bcc.BPF.KPROBE)
    except Exception as exc:
        line = loadlog.explain(exc, log.text)
    else:
        pytest.fail("the kernel accepted a program reading a possibly negative length")
    assert capfd.readouterr().err == ""  # nothing of the verifier's log on the terminal
    assert "\n" not in line
    assert line.startswith(
        f"the BPF program was rejected by the kernel {os.uname().release} verifier at broken: "
    )
    assert "R2 min value is negative" in line
    path = line.rsplit("(full log: ", 1)[1].rstrip(")")
    assert path.startswith(str(tmp_path))
    text = open(path).read()
    assert "processed" in text and "bpf_probe_read_user" in text


def test_a_program_that_does_not_compile(ebpf, capfd, tmp_path, monkeypatch):
    import bcc

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    capfd.readouterr()
    try:
        with loadlog.captured_stderr() as log:
            bcc.BPF(text="int f(void *ctx) { return undefined_thing; }\n")
    except Exception as exc:
        line = loadlog.explain(exc, log.text, source_name="broken.bpf.c")
    else:
        pytest.fail("clang compiled an undeclared identifier")
    assert capfd.readouterr().err == ""
    assert line.startswith(
        "the BPF program did not compile: broken.bpf.c:1:27: error: use of undeclared "
        "identifier 'undefined_thing' (full log: "
    )
