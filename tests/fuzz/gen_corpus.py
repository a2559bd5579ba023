#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seed corpus for tests/fuzz/fuzz_registry.c: realistic record streams
(strings, variables, nested scopes on several threads, alloc/free/realloc,
tasks, stacks, fast-mode snapshots, thread and process exits) written in the
harness's input format (described at the top of fuzz_registry.c; the pool
encodings below mirror its p_* readers).

Usage: tests/fuzz/gen_corpus.py [DIR]   (default: tests/fuzz/corpus)
Deterministic: the same files every run. Regenerate after changing the
input format, and commit the result."""
import os
import struct
import sys

# ms_event_type
STRING, VAR, SCOPE_ENTER, SCOPE_EXIT, ALLOC, FREE, REALLOC = range(1, 8)
TASK_ENTER, TASK_EXIT, TASK_NAME, TASK_SPAWN, TASK_END, SNAPSHOT = range(8, 14)
PROC_EXIT, THREAD_EXIT, FORK, EXEC, LIVE = range(14, 19)
OP_RAW, OP_STACK, OP_SNAP, OP_SITE, OP_LBEGIN, OP_LEND, OP_REPORT, OP_API = 0, 19, 20, 21, 22, 23, 24, 30
# ms_hdr.flags
F_TRUNC, F_FAULT, F_KNOWN, F_UNTRACKED, F_SAMPLED, F_CUSTOM, F_DEEP = (1 << i for i in range(7))
# ms_alloc_kind
K_MALLOC, K_CALLOC, K_REALLOC, K_NEW, K_NEW_ARRAY, K_FREE, K_DELETE = 0, 1, 2, 9, 10, 11, 12
# config byte 0
C_FROM_START, C_READ_MEM, C_INTERNAL, C_RESOLVE, C_EXITED, C_NO_EXE, C_CTX_START, C_NO_REASON = (
    1 << i for i in range(8))


class Stream:
    """One fuzz input. Pool arguments are indexes, not values:
    addr(i) is block i (1..127), iaddr(i) an interior pointer into block i,
    str ptr(i) target string i (1..239), id(i) scope/task id i (0..63),
    stack(i) stack id i (-1..14), ip(i) code address i (1..239)."""

    def __init__(self, cfg0=C_READ_MEM | C_INTERNAL | C_RESOLVE, temp=0, mode=0, exit_status=0,
                 start=1, end=10, stats=0, sample=0):
        self.b = bytearray([cfg0, temp, mode, exit_status, start, end, stats, sample])

    # ---- pools (see p_* in fuzz_registry.c)
    def u8(self, v):
        self.b.append(v & 0xff)

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xffff)

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xffffffff)

    def raw64(self, v):
        self.u8(0xff)
        self.b += struct.pack("<Q", v & (2**64 - 1))

    def addr(self, i):
        assert 0 <= i < 0x80
        self.u8(i)

    def iaddr(self, i):
        assert 0 <= i < 0x6f
        self.u8(0x80 | i)

    def fresh_addr(self):
        self.u8(0xef)

    def id(self, i):
        assert 0 <= i < 64
        self.u8(i)

    def size(self, n):
        if n < 0x80:
            self.u8(n)
        elif n % 0x100 == 0 and n // 0x100 <= 0x40:
            self.u8(0x80 + n // 0x100 - 1)
        else:
            self.raw64(n)

    def strp(self, i):
        assert 0 <= i < 0xf0
        self.u8(i)

    def ip(self, i):
        assert 0 <= i < 0xf0
        self.u8(i)

    def stack(self, i):
        assert -1 <= i < 15
        self.u8(i + 1)

    def who(self, pid=0, tid=0):
        """pid: 0 = 100, 2 = 101; tid: 0..6 = thread 100..106."""
        self.u8(pid | tid << 2)

    def ts(self, step=10):
        """Advance the clock by step^2 * 50 ns (step 1..253); 0 = no time."""
        self.u8(step)

    def text(self, s, cap):
        """Length, then the bytes the record holds (at most cap)."""
        data = s.encode() if isinstance(s, str) else s
        if len(data) < 0xff:
            self.u8(len(data))
        else:
            self.u8(0xff)
            self.u32(len(data))
        self.b += data[:cap]

    # ---- records
    def hdr(self, typ, tid=0, pid=0, flags=0, scope=0, task=0, step=10, variant=0):
        self.u8(typ | variant << 5)
        self.who(pid, tid)
        self.u8(flags)
        self.ts(step)
        self.id(scope)
        self.id(task)

    def string(self, i, s, **kw):
        self.hdr(STRING, **kw)
        self.strp(i)
        self.text(s, 256)

    def var(self, name, size, value=0, typ=0, file=0, line=0, addr=1, **kw):
        """value: None, or ('addr', i) / ('iaddr', i) / an int pool byte."""
        self.hdr(VAR, **kw)
        self.addr(addr)
        self.size(size)
        if isinstance(value, tuple):
            getattr(self, value[0])(value[1])
        else:
            self.u8(value)
        self.strp(name)
        self.strp(typ)
        self.strp(file)
        self.u16(line)

    def enter(self, sid, name=0, file=0, line=0, depth=1, parent=0, **kw):
        self.hdr(SCOPE_ENTER, scope=parent, **kw)
        self.id(sid)
        self.strp(name)
        self.strp(file)
        self.u16(line)
        self.u8(depth)

    def exit(self, sid, depth=0, **kw):
        self.hdr(SCOPE_EXIT, **kw)
        self.id(sid)
        self.strp(0)
        self.strp(0)
        self.u16(0)
        self.u8(depth)

    def heap(self, typ, addr, size=0, old=0, old_size=0, stack=-1, caller=0, kind=K_MALLOC,
             weight=0, alloc_ts=0, **kw):
        self.hdr(typ, **kw)
        self.addr(addr)
        self.size(size)
        self.addr(old)
        self.size(old_size)
        self.u8(alloc_ts)
        self.size(weight)
        self.ip(caller)
        self.stack(stack)
        self.u8(kind)

    def alloc(self, addr, size, **kw):
        self.heap(ALLOC, addr, size, **kw)

    def free(self, addr, size=0, kind=K_FREE, **kw):
        self.heap(FREE, addr, size, old_size=size, kind=kind, **kw)

    def realloc(self, old, addr, size, old_size=0, **kw):
        self.heap(REALLOC, addr, size, old=old, old_size=old_size, kind=K_REALLOC, **kw)

    def task(self, typ, tid_, other=0, **kw):
        self.hdr(typ, **kw)
        self.id(tid_)
        self.id(other)

    def task_name(self, task_id, name, ptr=0, typ=TASK_NAME, **kw):
        self.hdr(typ, **kw)
        self.id(task_id)
        self.strp(ptr)
        self.text(name, 64)

    def proc(self, typ, code=0, signal=0, child=0, comm=b"", **kw):
        self.hdr(typ, **kw)
        self.u8(0x80 | signal if signal else code)
        self.u8(child)
        self.u8(len(comm))
        self.b += comm

    def add_stack(self, sid, ips, pid=0):
        self.u8(OP_STACK | (4 << 5 if len(ips) >= 128 else 0))
        self.who(pid)
        self.stack(sid)
        self.u8(len(ips) - (128 if len(ips) >= 128 else 0))
        for i in ips:
            self.ip(i)

    def set_site(self, sid, allocs, abytes, frees, fbytes, pid=0):
        self.u8(OP_SITE)
        self.who(pid)
        self.stack(sid)
        for v in (allocs, abytes, frees, fbytes):
            self.size(v)

    def snapshot(self, blocks, end=True):
        """blocks: list of (addr index, size, stack, scope, task)."""
        self.u8(OP_SNAP | (0 if end else 4 << 5))
        self.u8(len(blocks))
        for a, sz, st, sc, tk in blocks:
            self.who(0, 0)
            self.u8(0)
            self.ts(3)
            self.id(sc)
            self.id(tk)
            self.addr(a)
            self.size(sz)
            self.addr(0)
            self.size(0)
            self.u8(0)
            self.size(0)
            self.ip(0)
            self.stack(st)
            self.u8(K_MALLOC)

    def forget_strings(self, pid=0):
        self.u8(OP_API)
        self.u8(0)
        self.who(pid)

    def api_snapshot(self, label=None, step=10):
        self.u8(OP_API)
        self.u8(1)
        if label is None:
            self.u8(0)
        else:
            self.u8(0x80)
            self.text(label, 64)
        self.ts(step)

    def raw(self, data):
        self.u8(OP_RAW)
        self.u16(len(data))
        self.b += data

    def op(self, code):
        self.u8(code)


# ---- scenarios -------------------------------------------------------------

def strings(s):
    names = ["main", "parse_config", "worker_loop", "buf", "items", "cfg", "counter",
             "main.c", "worker.c", "char *", "int", "struct config *", "int *",
             "memscope__type<T>::name() [with T = std::vector<int>]", "double", "request"]
    for i, n in enumerate(names, 1):
        s.string(i, n)
    return {n: i for i, n in enumerate(names, 1)}


def basic(s):
    S = strings(s)
    s.enter(1, S["main"], S["main.c"], 10, depth=1)
    s.var(S["counter"], 4, 0, S["int"], S["main.c"], 12, scope=1)
    s.alloc(1, 100, scope=1, stack=0)
    s.var(S["buf"], 8, ("addr", 1), S["char *"], S["main.c"], 13, scope=1)
    s.enter(2, S["parse_config"], S["main.c"], 30, depth=2, parent=1)
    s.alloc(2, 0x400, scope=2, stack=1, kind=K_CALLOC)
    s.var(S["cfg"], 8, ("iaddr", 2), S["struct config *"], S["main.c"], 31, scope=2)
    s.exit(2, depth=1, scope=2)
    s.free(1, 100, scope=1, flags=F_KNOWN, stack=2, caller=5)
    s.exit(1, depth=0)


def nested_threads(s, depth=6, threads=3):
    S = strings(s)
    sid = 1
    stacks = {}
    for t in range(threads):
        stacks[t] = []
    for d in range(depth):
        for t in range(threads):
            parent = stacks[t][-1] if stacks[t] else 0
            s.enter(sid, S["worker_loop"] if d else S["main"], S["worker.c"], 100 + d, depth=d + 1,
                    parent=parent, tid=t)
            s.var(S["items"], 4, 0, S["int"], S["worker.c"], 101 + d, scope=sid, tid=t)
            s.alloc(1 + sid, 16 * (d + 1), scope=sid, tid=t, stack=t)
            stacks[t].append(sid)
            sid += 1
    for d in range(depth):
        for t in range(threads):
            top = stacks[t].pop()
            if d % 2 == 0:
                s.free(1 + top, 16, scope=top, tid=t, flags=F_KNOWN)
            s.exit(top, depth=len(stacks[t]), scope=top, tid=t)


def realloc_chain(s, n=12):
    S = strings(s)
    s.enter(1, S["main"], S["main.c"], 5)
    s.alloc(1, 8, scope=1, stack=0)
    s.var(S["buf"], 8, ("addr", 1), S["char *"], S["main.c"], 6, scope=1)
    for i in range(1, n):
        s.realloc(i, i + 1, 8 << i if (8 << i) < 0x80 else 0x100 * min(0x40, i), flags=F_KNOWN,
                  scope=1, stack=1)
    s.free(n, flags=F_KNOWN, scope=1)
    s.realloc(0, 60, 32, scope=1)          # realloc(NULL, n)
    s.realloc(60, 0, 0, flags=F_KNOWN)     # realloc(p, 0)
    s.exit(1)


def bad_frees(s):
    S = strings(s)
    s.enter(1, S["main"], S["main.c"], 5)
    s.alloc(3, 10, scope=1)
    s.free(3, flags=F_KNOWN, scope=1, caller=5)
    s.free(3, scope=1, caller=6, stack=3)          # double free
    s.free(90, scope=1, caller=9, stack=4)         # never allocated (caller 9: not internal)
    s.free(91, scope=1, caller=0x33)               # internal_caller says allocator's own
    s.free(92, flags=F_KNOWN)                      # its alloc record was dropped
    s.realloc(93, 94, 20, scope=1)                 # realloc of unknown block
    s.free(95, flags=F_SAMPLED)
    s.add_stack(3, [5, 6, 7, 8])
    s.add_stack(4, [9, 10])
    s.exit(1)


def tasks(s):
    S = strings(s)
    s.task(TASK_SPAWN, 1, 2, tid=0)
    s.task(TASK_SPAWN, 1, 3, tid=0)
    s.task_name(2, "conn <fuzz-marker> \"1\"")
    s.task_name(3, "timer")
    s.task_name(1, "main-task")
    for rnd in range(4):
        for t, task_id in ((1, 2), (2, 3), (3, 2)):
            s.task(TASK_ENTER, task_id, tid=t, task=task_id)
            s.enter(10 + rnd * 4 + t, S["request"], S["worker.c"], 50, task=task_id, tid=t)
            s.alloc(10 + rnd * 4 + t, 64 + t, task=task_id, tid=t, scope=10 + rnd * 4 + t, stack=t)
            s.var(S["buf"], 8, ("addr", 10 + rnd * 4 + t), S["char *"], task=task_id, tid=t,
                  scope=10 + rnd * 4 + t)
            if rnd % 2:
                s.free(10 + (rnd - 1) * 4 + t, flags=F_KNOWN, tid=(t + 1) % 4, task=task_id)
            s.exit(10 + rnd * 4 + t, task=task_id, tid=t)
            s.task(TASK_EXIT, task_id, tid=t, task=task_id)
    s.task(TASK_END, 2, tid=1, task=2)
    s.task_name(0, "snap-1", typ=SNAPSHOT)
    s.task(TASK_END, 3, tid=2)


def fast_mode(s):
    for sid in range(6):
        s.add_stack(sid, [1 + sid, 20, 30, 40][: 1 + sid % 4])
    s.set_site(0, 10, 0x1000, 4, 0x400)
    s.set_site(1, 3, 300, 0, 0)
    s.snapshot([(1, 100, 0, 0, 0), (2, 200, 1, 0, 0), (3, 0x400, 2, 0, 0)])
    s.set_site(0, 20, 0x2000, 18, 0x1c00)
    s.snapshot([(1, 100, 0, 0, 0), (4, 50, 3, 0, 0)])
    s.snapshot([], end=False)
    s.op(OP_LEND)
    s.op(OP_LBEGIN)
    s.snapshot([(5, 10, 4, 0, 0)])


def thread_exit(s):
    S = strings(s)
    s.enter(1, S["main"], tid=2)
    s.enter(2, S["worker_loop"], parent=1, tid=2, depth=2)
    s.enter(3, S["worker_loop"], parent=2, tid=2, depth=3)
    s.alloc(4, 77, scope=3, tid=2)
    s.proc(THREAD_EXIT, tid=2)
    s.exit(0)   # exit without enter
    s.exit(33)  # exit of a scope never entered
    s.proc(FORK, child=1, comm=b"child")
    s.proc(EXEC, comm=b"exec-me")
    s.proc(PROC_EXIT, signal=11, comm=b"victim")


def string_faults(s):
    # read_mem answers from the input right after the record: see read_mem().
    s.hdr(STRING, flags=F_FAULT)
    s.strp(40)
    s.text("", 256)
    s.u8(0x02)         # read_mem: bytes, length follows
    s.u8(9)
    s.b += b"faultname"
    s.hdr(STRING, flags=F_FAULT)
    s.strp(41)
    s.text("", 256)
    s.u8(0x04)         # read_mem: -EFAULT
    s.enter(1, 40, 41, 3)
    s.u8(0x00)         # file 41 is still unknown: read_mem asked again, -ESRCH
    s.var(42, 8, 0, 43, 0, 1, scope=1)  # unknown strings: read_mem asked
    s.u8(0x01)         # name: 0 bytes
    s.u8(0x82)         # type: full length
    s.b += b"unsigned long" + b"\0" * (255 - 13)
    s.task_name(5, "", ptr=44, flags=F_FAULT)
    s.u8(0x02)
    s.u8(4)
    s.b += b"tsk!"
    s.string(45, "x" * 300)                    # longer than MS_STR_MAX
    s.string(46, "trunc", flags=F_TRUNC)
    s.var(45, 4, scope=1)
    s.exit(1)


def many_allocs(s, n=300):
    for i in range(n):
        a = 1 + i % 120
        s.alloc(a, (i * 7) % 0x80, stack=i % 8, step=3 + i % 40)
        if i % 3:
            s.free(a, flags=F_KNOWN, step=2)
    s.op(OP_REPORT)
    for i in range(50):
        s.alloc(1 + i, 0x100 * (1 + i % 16), step=200)


def deep_scopes(s, depth=150):
    S = strings(s)
    for d in range(depth):
        s.hdr(SCOPE_ENTER, scope=0, flags=F_DEEP if d >= 32 else 0, step=1)
        s.u8(0xef)     # fresh scope id
        s.strp(S["worker_loop"])
        s.strp(S["worker.c"])
        s.u16(d)
        s.u8(d % 256)
    for d in reversed(range(depth)):
        s.hdr(SCOPE_EXIT, step=1)
        s.raw64(1001 + d)  # the fresh ids, innermost first
        s.b += b"\0\0\0\0"
        s.u8(d)


def types(s):
    S = strings(s)
    s.enter(1, S["main"])
    s.var(S["items"], 40, 0, S["int *"], S["main.c"], 20, scope=1)      # int[10]
    s.var(S["buf"], 8, 0, S["char *"], S["main.c"], 21, scope=1)
    s.var(S["request"], 24, 0, S["memscope__type<T>::name() [with T = std::vector<int>]"], scope=1)
    s.string(60, "memscope__type<T>::name() [T = std::map<int, std::string>]")
    s.var(S["cfg"], 48, 0, 60, scope=1)
    s.string(61, " *")
    s.var(S["cfg"], 3, 0, 61, scope=1)
    s.string(62, "double *")
    s.var(S["cfg"], 17, 0, 62, scope=1)
    s.exit(1)


def hostile_strings(s):
    s.string(70, "<fuzz-marker><script>alert('x')</script>")
    s.string(71, "quote\" back\\slash ;semi\n\t\x01")
    s.string(72, b"bad \xff\xfe utf8 \xc3")
    s.string(73, "caf\u00e9 \u20ac \U0001f4a9")
    s.enter(1, 70, 71, 1)
    s.var(72, 8, ("addr", 5), 73, 70, 2, scope=1)
    s.alloc(5, 9, scope=1, stack=0)
    s.add_stack(0, [1, 2, 3])
    s.task_name(7, "<fuzz-marker> task")
    s.task(TASK_ENTER, 7, task=7)
    s.exit(1)


def garbage(s):
    basic(s)
    s.raw(b"")
    s.raw(b"\x05\x00")
    s.raw(struct.pack("<HHIIIQQQ", 99, 0, 40, 100, 100, 1, 0, 0))
    s.raw(struct.pack("<HHIIIQQQ", ALLOC, 0, 104, 100, 100, 5, 0, 0))     # short heap record
    s.raw(struct.pack("<HHIIIQQQ", 0, 0, 40, 100, 100, 5, 0, 0) + b"\0" * 64)
    s.hdr(ALLOC, variant=2)                     # short, via the length variant
    s.b += b"\x10" * 9 + b"\x05"
    s.hdr(VAR, variant=3)                       # long
    s.b += b"\x01" * 8 + b"\x20" + b"z" * 32
    s.op(FREE | 4 << 5)                         # raw header
    s.b += struct.pack("<HHIIIQQQ", 0, F_KNOWN, 104, 100, 100, 1 << 40, 1, 2)
    s.b += b"\x01" * 9


def leaks_exited(s):
    S = strings(s)
    for i in range(20):
        s.alloc(1 + i, 0x10 + i, stack=i % 5, scope=0)
    s.var(S["buf"], 8, ("addr", 3))
    s.var(S["items"], 8, ("iaddr", 4))
    for sid in range(5):
        s.add_stack(sid, list(range(1, 2 + sid * 3)))
    s.add_stack(7, list(range(1, 140)))          # deeper than MS_MAX_STACK_DEPTH
    s.proc(PROC_EXIT, code=3)


def sampled(s):
    for i in range(30):
        s.alloc(1 + i, 0x10, weight=0x1000, flags=F_SAMPLED, kind=15, stack=i % 3)
        if i % 4 == 0:
            s.free(1 + i, flags=F_SAMPLED | F_KNOWN)
    s.free(100, flags=F_SAMPLED)


def growth(s, rounds=6):
    """A server leaking 512 bytes per request at one site, not at another;
    a snapshot after each round, from the target or the tracer."""
    S = strings(s)
    for rnd in range(rounds):
        s.task(TASK_ENTER, 1 + rnd, task=1 + rnd)
        s.enter(1 + rnd, S["request"], S["worker.c"], 10, task=1 + rnd)
        s.alloc(1 + rnd, 0x200, stack=0, scope=1 + rnd, task=1 + rnd)          # leaked
        s.alloc(60 + rnd, 0x300, stack=1, scope=1 + rnd, task=1 + rnd)
        s.var(S["buf"], 8, ("addr", 1 + rnd), S["char *"], scope=1 + rnd, task=1 + rnd)
        s.free(60 + rnd, flags=F_KNOWN, scope=1 + rnd, task=1 + rnd)
        s.exit(1 + rnd, task=1 + rnd)
        s.task(TASK_END, 1 + rnd, task=1 + rnd)
        if rnd % 2:
            s.task_name(0, "round %d" % rnd, typ=SNAPSHOT, step=60)
        else:
            s.api_snapshot(None if rnd % 4 else "tick", step=60)
    s.add_stack(0, [3, 4, 5])
    s.add_stack(1, [6, 7])


def fold(s, n=40):
    """Many short scopes, variables and tasks: with a small keep (config
    "fold") the ended ones fold into aggregates while live ones stay."""
    S = strings(s)
    s.enter(63, S["main"], S["main.c"], 1)                  # stays open
    for i in range(n):
        sid = 1 + i % 60
        s.task(TASK_SPAWN, 1, 2 + i % 50)
        s.task(TASK_ENTER, 2 + i % 50, task=2 + i % 50)
        s.enter(sid, S["worker_loop"], S["worker.c"], 20 + i % 3, parent=63, task=2 + i % 50)
        s.var(S["items"], 4, 0, S["int"], S["worker.c"], 21, scope=sid)
        if i % 5 == 0:
            s.alloc(1 + i, 32, scope=sid, stack=2)                # kept: points at a live block
            s.var(S["buf"], 8, ("addr", 1 + i), S["char *"], scope=sid)
        s.exit(sid, scope=sid)
        s.task(TASK_END, 2 + i % 50, task=2 + i % 50)
    s.realloc(1, 100, 64, flags=F_KNOWN)                      # a folded-around variable moves
    s.forget_strings()
    s.proc(EXEC, comm=b"newimage")
    s.var(S["cfg"], 4, 0, S["int"])                          # strings forgotten: asked again


def many_snapshots(s, n=70):
    """More snapshots than MS_SNAP_MAX (64): the registry halves them."""
    for i in range(n):
        s.alloc(1 + i % 100, 0x100, stack=i % 3)
        if i % 2:
            s.api_snapshot(None, step=100)
        else:
            s.task_name(0, "t%d" % i, typ=SNAPSHOT, step=100)
    s.op(OP_API)
    s.u8(3)            # ms_registry_fold_now
    s.u8(0)


def big_strings(s, n=24):
    """Names long enough (MS_STR_MAX - 1 bytes each) to grow the string
    arena past its first 4 KiB."""
    for i in range(n):
        s.string(1 + i, ("name%02d_" % i) + "x" * 247)
    s.enter(1, 1, 2, 1)
    for i in range(n):
        s.var(1 + i, 4, 0, 1 + (i + 1) % n, 1 + (i + 2) % n, i, scope=1)
    s.exit(1)


SCENARIOS = {
    "basic": basic, "nested": nested_threads, "realloc": realloc_chain, "badfree": bad_frees,
    "tasks": tasks, "fast": fast_mode, "threadexit": thread_exit, "faults": string_faults,
    "many": many_allocs, "deep": deep_scopes, "types": types, "hostile": hostile_strings,
    "garbage": garbage, "leaks": leaks_exited, "sampled": sampled, "growth": growth,
    "fold": fold, "snapmax": many_snapshots, "bigstr": big_strings,
}

# config variants: (cfg0, temp, mode, exit_status, start, end, stats, sample)
CONFIGS = {
    "attach": dict(),
    "start": dict(cfg0=C_FROM_START | C_READ_MEM | C_INTERNAL | C_RESOLVE | C_EXITED | C_CTX_START,
                  exit_status=1, mode=1 | 2 << 2),
    "bare": dict(cfg0=C_NO_EXE | C_NO_REASON, temp=30, end=0, start=0xff, stats=0xff, sample=12),
    # keep = 3 (mode byte's high nibble): folding starts at 7 records
    "fold": dict(cfg0=C_RESOLVE | C_EXITED, mode=3 << 4, exit_status=0x86),
}


# Seeds that currently trip a known, reported bug go to crashes/ instead of
# corpus/, so that the replay in CI stays green. Drop an entry once its bug
# is fixed (and regenerate).
KNOWN_BUGS = {
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("seed-"):
            os.unlink(os.path.join(out, old))
    crashes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crashes")
    total = nseeds = 0
    for name, fn in SCENARIOS.items():
        for cname, cfg in CONFIGS.items():
            s = Stream(**cfg)
            fn(s)
            seed = "seed-%s-%s" % (name, cname)
            path = os.path.join(out, seed)
            if seed in KNOWN_BUGS:
                os.makedirs(crashes, exist_ok=True)
                path = os.path.join(crashes, seed)
            else:
                total += len(s.b)
                nseeds += 1
            with open(path, "wb") as f:
                f.write(s.b)
    print("%d seeds, %d bytes in %s; %d held back in %s (KNOWN_BUGS)" % (
        nseeds, total, out, len(KNOWN_BUGS), crashes))


if __name__ == "__main__":
    main()
