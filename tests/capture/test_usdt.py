"""Probe notes to BPF entry points (capture/usdt.py), as pure functions.

The operands are the forms <sys/sdt.h> writes on x86-64, as ``readelf -n``
shows them for the stand-ins and for dashd (``8@192(%rsp)``).  The live
tests record through the generated code; these pin the parsing and what
is refused, in one line, before anything is attached.
"""

from __future__ import annotations

import pytest

from p2pcap.capture.elfnotes import ProbeNote, read_elf_info
from p2pcap.capture.usdt import Argument, ProbeError, entry_points, parse_argument, sites

ARGS6 = "-8@%rax 8@%rcx 8@%r8 8@%r9 8@%rsi 8@%rdx"


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("-8@%rax", Argument(8, True, register="ax")),
        ("8@%r13", Argument(8, False, register="r13")),
        ("-4@%eax", Argument(4, True, register="ax")),
        ("4@%r8d", Argument(4, False, register="r8")),
        ("1@%sil", Argument(1, False, register="si")),
        ("8@192(%rsp)", Argument(8, False, register="sp", offset=192)),
        ("-8@8(%rdi)", Argument(8, True, register="di", offset=8)),
        ("8@-24(%rbp)", Argument(8, False, register="bp", offset=-24)),
        ("8@(%rbx)", Argument(8, False, register="bx", offset=0)),
        ("8@$0", Argument(8, False, constant=0)),
        ("-4@$-1", Argument(4, True, constant=-1)),
    ],
)
def test_operands_sdt_h_writes(spec, expected):
    assert parse_argument(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("8@foo(%rip)", "operand 'foo(%rip)' is not supported"),
        ("8@%xmm0", "unknown register %xmm0"),
        ("3@%rax", "not of the form [-]SIZE@OPERAND"),
        ("8@8(%rsp,%rax,8)", "is not supported"),
        ("8@[sp, 8]", "is not supported"),  # arm64's syntax
    ],
)
def test_operands_p2pcap_cannot_read_say_so(spec, message):
    with pytest.raises(ProbeError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_argument(spec)


def test_c_reads_registers_truncated_and_memory_through_the_helper():
    statements, expression = Argument(4, True, register="ax").c_expression("r")
    assert (statements, expression) == ("", "(u64)(s64)(s32)ctx->ax")
    statements, expression = Argument(8, False, register="sp", offset=256).c_expression("raw3")
    assert statements == "u64 raw3 = 0; bpf_probe_read_user(&raw3, 8, (void *)(ctx->sp + (256)));"
    assert expression == "(u64)(u64)raw3"


def note(name, pc_offset=0x1234, semaphore=0, semaphore_offset=0, arguments=ARGS6):
    return ProbeNote(
        "net", name, pc_offset, semaphore, arguments, pc_offset=pc_offset, semaphore_offset=semaphore_offset
    )


def test_one_entry_point_per_site_with_the_semaphore_offset():
    found = sites(
        [
            note("inbound_message", semaphore=0x5112, semaphore_offset=0x4112),
            note("outbound_message", pc_offset=0x2000),
            note("outbound_message", pc_offset=0x3000),
            ProbeNote("other", "thing", 1, 0, "", pc_offset=1),
        ],
        "dashd",
        tag=2,
    )
    assert [(s.probe, s.fn_name, s.offset, s.semaphore) for s in found] == [
        ("inbound_message", "trace_inbound_2_0", 0x1234, 0x4112),
        ("outbound_message", "trace_outbound_2_0", 0x2000, 0),
        ("outbound_message", "trace_outbound_2_1", 0x3000, 0),
    ]
    code = entry_points(found)
    assert code.count("int trace_") == 3
    assert "return trace_probe(ctx, a0, a1, a2, a3, a4, a5, 1);" in code  # inbound
    assert "return trace_probe(ctx, a0, a1, a2, a3, a4, a5, 0);" in code


@pytest.mark.parametrize(
    "bad,message",
    [
        (note("inbound_message", arguments="-8@%rax 8@%rcx"), "has 2 arguments, dashd's has 6"),
        (note("inbound_message", pc_offset=0), "is in no loaded segment"),
        (
            note("inbound_message", semaphore=0x9000, semaphore_offset=0),
            "semaphore at 0x9000 is in no loaded segment",
        ),
    ],
)
def test_sites_p2pcap_cannot_attach_to_fail_before_attaching(bad, message):
    with pytest.raises(ProbeError, match=message):
        sites([bad], "dashd")


def test_the_stand_ins_notes_give_file_offsets(standin, standin_sema):
    """File offsets as a uprobe wants them; the semaphore one inside the file."""
    for path in (standin, standin_sema):
        info = read_elf_info(path)
        size = path.stat().st_size
        for n in info.notes:
            assert 0 < n.pc_offset < size
            assert (n.semaphore_offset != 0) == (path == standin_sema) and n.semaphore_offset < size
