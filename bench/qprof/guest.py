# SPDX-License-Identifier: GPL-2.0
"""In the VM (bench/qprof/run.sh): veth and rveth pairs as `make bench`
builds them, and for each row a qprof snapshot before and after `--count`
pktgen frames on each kind (two rounds, after a warm-up per kind)."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["RVETH_TOP"], "bench"))
import bench_guest as b  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--rows", default="pktgen,xdp_drop")
ap.add_argument("--count", type=int, default=50000)
a = ap.parse_args()
ctl = os.path.join(a.dir, "ctl")
seq = int(time.time())


def snap(name):
    global seq
    seq += 1
    out = os.path.join(a.dir, name)
    with open(ctl, "w") as f:
        f.write(f"{seq} {out}\n")
    for _ in range(600):
        time.sleep(0.1)
        if os.path.exists(out):
            return
    raise RuntimeError(f"no snapshot {name}: is the plugin loaded?")


b.insmod("veth", "veth.ko")
b.insmod("pktgen", "pktgen.ko")
b.sh(f"insmod {b.TOP}/rveth.ko")
pairs = {"veth": b.Pair("veth", "v"), "rveth": b.Pair("rveth", "r")}
# The programs' JIT images under their own names in kallsyms.
b.sh("sysctl -qw net.core.bpf_jit_kallsyms=1")
targets = {}


def setup(row):
    """Programs (and, for xdp_redirect, the second pairs) as `make bench`
    sets them up for the row."""
    for kind, p in pairs.items():
        if row in ("xdp_drop", "xdp_pass"):
            # xdp_pass: the skbs are copied into b's page pool, the
            # program passes them, and b builds new skbs for GRO (the path
            # of the bench's "XDP_PASS: TCP stream" row).
            b.xdp_attach(p.ns_b, p.b, row)
        elif row == "xdp_tx":
            b.xdp_attach(None, p.a, "xdp_pass")
            b.xdp_attach(p.ns_b, p.b, "xdp_tx")
        elif row == "xdp_redirect":
            targets[kind] = b.RedirectTarget(p)
        elif row == "gro":
            # The GRO rows' path without a program: a's TSO off makes the
            # frames eligible for b's NAPI (veth_skb_is_eligible_for_gro),
            # b's poll hands them to GRO, which flushes them to the IP
            # layer (foreign MAC: dropped as PACKET_OTHERHOST).
            b.sh(f"ethtool -K {p.a} tso off")
            b.sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro on")


def teardown(row):
    if row in ("xdp_drop", "xdp_pass", "xdp_tx"):
        b.xdp_detach_all(list(pairs.values()))
    if row == "xdp_tx":
        for p in pairs.values():
            b.xdp_attach(None, p.a, None)
    if row == "gro":
        for p in pairs.values():
            b.sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro off")
            b.sh(f"ethtool -K {p.a} tso on")
    for t in targets.values():
        t.remove()
    targets.clear()


class Scale:
    """The scale row's creation: `count` pairs with 2+2 queues per end,
    over one rtnetlink socket, in a namespace made before the snapshot
    (`prepare`), so that the sample holds the pairs' creation alone;
    deleted after the snapshot (`done`), which waits until the kernel's
    memory is back to where it was, so that the namespace's teardown (a
    workqueue) is not charged to the next sample."""

    def __init__(self, kind):
        self.kind = kind
        self.r = None
        self.base = 0

    def prepare(self):
        self.base = b.settled_kernel_kb()
        b.sh("ip netns add bn_qscale")
        self.r = b.rtnl.Rtnl("bn_qscale")

    def __call__(self, count):
        q = {"numtxqueues": 2, "numrxqueues": 2}
        for i in range(count):
            self.r.newlink(b.rtnl.pair_msg(kind=self.kind, name=f"s{i}", peer={"name": f"t{i}", **q}, **q))
        return {"pairs": count}

    def done(self):
        self.r.close()
        b.sh("ip netns del bn_qscale")
        t_end = time.monotonic() + 120
        while b.kernel_kb() > self.base + 512 and time.monotonic() < t_end:
            time.sleep(0.5)
        b.settled_kernel_kb()


for row in a.rows.split(","):
    setup(row)
    if row == "xdp_redirect":
        fns = {kind: targets[kind].measure for kind in pairs}
    elif row == "scale":
        fns = {kind: Scale(kind) for kind in pairs}
    else:
        f = {"pktgen": b.pktgen, "gro": b.pktgen, "xdp_pass": b.pktgen, "xdp_drop": b.xdp_drop, "xdp_tx": b.xdp_tx}[row]
        fns = {kind: (lambda c, p=pairs[kind], f=f: f(p, c)) for kind in pairs}
    b.sh(f"cat /proc/kallsyms > {a.dir}/kallsyms")
    def hook(kind, name):
        getattr(fns[kind], name, lambda: None)()

    for kind in pairs:
        hook(kind, "prepare")
        fns[kind](5000 if row != "scale" else a.count)
        hook(kind, "done")
    for r in range(2):
        for kind in pairs:
            hook(kind, "prepare")
            snap(f"{row}-{kind}-{r}-pre")
            res = fns[kind](a.count)
            snap(f"{row}-{kind}-{r}-post")
            hook(kind, "done")
            print(f"qprof: {row} {kind} round {r}: {res}", flush=True)
    teardown(row)
print("QPROF-DONE", flush=True)
