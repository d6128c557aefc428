# SPDX-License-Identifier: GPL-2.0
"""Host side of bench/qprof: per packet, for veth and rveth, instructions,
TBs and expensive TB exits (returns, indirect jumps and calls, jumps,
calls and conditional jumps with a target in another page, and the
instructions after which TCG returns to its main loop: the exits TCG
cannot chain), over the whole system and per driver symbol; then the
driver's own symbols one by one. The window of a sample also holds what
the guest does around pktgen (a few `ip`/`ethtool` processes, a 0.3 s
sleep, the snapshot requests), spread over the packets.

usage: report.py DIR COUNT [ROWS]"""
import bisect
import collections
import sys

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone import x86 as X

md = Cs(CS_ARCH_X86, CS_MODE_64)
md.detail = True
d, count = sys.argv[1], int(sys.argv[2])
rows = (sys.argv[3] if len(sys.argv) > 3 else "pktgen,xdp_drop").split(",")
MASK64 = (1 << 64) - 1
PAGE = ~0xFFF
EXPENSIVE = ("ret", "call_xpage", "jmp_xpage", "call_ind", "jmp_ind", "fall_xpage", "eob")
# A conditional jump with a side in another page costs a lookup only when
# that side is taken, which the counts do not tell: reported apart, as an
# upper bound.
JCC_X = ("jcc_xpage",)

syms = []
for line in open(f"{d}/kallsyms"):
    f = line.split()
    if f[1].lower() in ("t", "w"):
        syms.append((int(f[0], 16), f[2] + (" " + f[3] if len(f) > 3 else "")))
syms.sort()
addrs = [a for a, _ in syms]


def sym(va):
    """The symbol va is in; code more than 1 MiB past the nearest symbol
    (BPF JIT images, which kallsyms lists only with bpf_jit_kallsyms) is
    "?"."""
    i = bisect.bisect_right(addrs, va) - 1
    return syms[i][1] if i >= 0 and va - addrs[i] < (1 << 20) else "?"


def load(path):
    tbs = {}
    for line in open(path):
        f = line.split()
        tbs[(int(f[0], 16), int(f[1]))] = (int(f[2]), f[3] if len(f) > 3 else "")
    return tbs


_exit = {}
# Instructions after which TCG ends the TB and returns to its main loop
# (gen_eob: interrupt flag or mode changes, helpers that may fault), never
# chaining to the next TB.
EOB = ("sti", "cli", "popf", "popfq", "pause", "iretq", "iret", "sysret", "sysretq",
       "sysexit", "hlt", "wrmsr", "swapgs", "lret", "retf", "int3", "ud2", "syscall")
REP = ("rep", "repe", "repne", "repz", "repnz")


def exit_kind(va, hexs, n):
    """How the TB ends. TCG (QEMU 7.2) chains a direct jump, call or either
    side of a conditional jump only to an address in the TB's first page
    (translator_use_goto_tb); a return, an indirect jump or call, a target
    in another page, and the instructions in EOB exit to a lookup or to the
    main loop. A TB that just stops (its size, or a page boundary) chains to
    the next instruction if it is in the same page. Returns (kind, n)."""
    if (va, hexs) in _exit:
        return _exit[(va, hexs)]
    ins = list(md.disasm(bytes.fromhex(hexs), va))
    k = "?"
    if len(ins) != n:
        k = "?undecoded"
    elif ins:
        last = ins[-1]
        m = last.mnemonic
        xp = lambda t: (t & PAGE) != (va & PAGE)  # noqa: E731
        nxt = last.address + last.size
        if m.startswith("ret"):
            k = "ret"
        elif m in ("call", "jmp"):
            op = last.operands[0]
            if op.type != X.X86_OP_IMM:
                k = m + "_ind"
            else:
                k = m + ("_xpage" if xp(op.imm & MASK64) else "_chain")
        elif m.startswith("j") or m.startswith("loop"):
            k = "jcc_xpage" if xp(last.operands[0].imm & MASK64) or xp(nxt) else "jcc_chain"
        elif m.split()[0] in REP or m.startswith("rep"):
            k = "rep_chain"
        elif m in EOB:
            k = "eob"
        else:
            k = "fall_xpage" if xp(nxt) else "fall_chain"
    _exit[(va, hexs)] = (k, n)
    return _exit[(va, hexs)]


def profile(row, kind, r):
    pre = load(f"{d}/{row}-{kind}-{r}-pre")
    post = load(f"{d}/{row}-{kind}-{r}-post")
    by = collections.defaultdict(collections.Counter)
    for key, (e, h) in post.items():
        n = e - pre.get(key, (0, ""))[0]
        if n <= 0 or not h:
            continue
        k, ni = exit_kind(key[0], h, key[1])
        s = sym(key[0])
        by[s]["tb"] += n
        by[s]["insn"] += n * ni
        by[s][k] += n
    return by


def total(by, what, pred=lambda s: True):
    return sum(c[w] for s, c in by.items() if pred(s) for w in what) / count


def own(kind):
    return lambda s: f"[{kind}]" in s or (kind == "rveth" and s.startswith("rust_helper"))


for row in rows:
    unit = "pair" if row == "scale" else "packet"
    print(f"== {row}: per {unit} ({count} {unit}s a sample, two rounds)")
    print(f"{'':8} {'insns':>15} {'TBs':>13} {'expensive exits':>17} {'of them the driver':>20}"
          f" {'driver jcc x-page (<=)':>24}")
    last = {}
    for kind in ("veth", "rveth"):
        ps = [profile(row, kind, r) for r in (0, 1)]
        last[kind] = ps[1]
        cols = [" / ".join(f"{total(p, w, pr):.0f}" for p in ps)
                for w, pr in ((("insn",), lambda s: True), (("tb",), lambda s: True),
                              (EXPENSIVE, lambda s: True), (EXPENSIVE, own(kind)),
                              (JCC_X, own(kind)))]
        print(f"{kind:8} {cols[0]:>15} {cols[1]:>13} {cols[2]:>17} {cols[3]:>20} {cols[4]:>24}")
    for kind in ("veth", "rveth"):
        print(f"  {kind}'s own symbols (round 2): expensive exits, insns")
        by = last[kind]
        for s in sorted((s for s in by if own(kind)(s)), key=lambda s: -by[s]["insn"]):
            e = total({s: by[s]}, EXPENSIVE)
            if e >= 0.05:
                detail = " ".join(f"{w}={by[s][w] / count:.1f}" for w in EXPENSIVE + JCC_X
                                  if by[s][w])
                print(f"    {e:5.1f} {by[s]['insn'] / count:7.1f}  {s[-70:]}  ({detail})")
