/*
 * The stand-in nodes' tracepoint macros, for C and C++.
 *
 * Plain builds: the probe is an unconditional STAP_PROBE6 (what Dash Core's
 * TRACE6 from src/util/trace.h expands to; no semaphores in the ELF note).
 *
 * -DSTANDIN_SEMAPHORES: the way Bitcoin Core v29 declares its tracepoints
 * (bitcoin#26593, src/util/trace.h): _SDT_HAS_SEMAPHORES before
 * <sys/sdt.h>, so each probe's NT_STAPSDT note carries the address of a
 * counting semaphore, an unsigned short in the ".probes" section that the
 * kernel raises while a uprobe with a reference counter is attached
 * (BCC, bpftrace, libbpf all pass one); the probe site runs only while it
 * is above zero.
 *
 * One difference from Bitcoin Core: TRACEPOINT_ACTIVE reads the semaphore
 * through a volatile lvalue.  Bitcoin's plain read is reloaded in practice
 * because opaque calls surround its probe sites; the stand-in's replay
 * loop may have none, and the compiler could otherwise load the semaphore
 * once before the loop, so a recorder attaching mid-replay would never be
 * seen.
 */
#ifndef P2P_STANDIN_TRACE_H
#define P2P_STANDIN_TRACE_H

#ifdef STANDIN_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#define TRACEPOINT_SEMAPHORE(context, event) \
    unsigned short context##_##event##_semaphore __attribute__((section(".probes")))
#include <sys/sdt.h>
#define TRACEPOINT_ACTIVE(context, event) \
    (*(volatile unsigned short *)&context##_##event##_semaphore > 0)
#else
#include <sys/sdt.h>
#endif

/* Dash Core's spelling (src/util/trace.h): TRACE6(context, event, args). */
#define TRACE6(context, event, a1, a2, a3, a4, a5, a6) \
    STAP_PROBE6(context, event, a1, a2, a3, a4, a5, a6)

#endif
