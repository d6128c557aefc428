# SPDX-License-Identifier: GPL-2.0
"""rveth vs veth benchmark, run inside the test VM (`make bench`).

Both pairs are built identically (ends in two fresh namespaces, same
addresses, IPv6 off, static neighbours); their `ethtool -k` must match or
the run is refused. Every measurement is taken for veth and rveth back to
back in one round, veth first in even rounds and rveth first in odd ones,
for several rounds; the raw samples (in round order, with each round's
order) are printed as JSON between markers for the host to render
(bench/report.py computes the per-round ratios and their intervals).
Absolute numbers under TCG mean little: use the ratios.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

TOP = os.environ.get("RVETH_TOP", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import rtnl  # noqa: E402

KDIR = os.environ.get("RVETH_KDIR", "")


def sh(cmd, check=True, timeout=600):
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd}: {p.stderr.strip()}")
    return p.stdout


T0 = time.monotonic()


def log(msg):
    print(f"[bench +{time.monotonic() - T0:.0f}s] {msg}", file=sys.stderr, flush=True)


def insmod(name, path_glob):
    if not os.path.isdir(f"/sys/module/{name}"):
        if subprocess.run(["modprobe", name], capture_output=True).returncode != 0:
            path = sh(f"find {KDIR} -name {path_glob} | head -n1").strip()
            sh(f"insmod {path}")


class Pair:
    """A pair of `kind`: end `a` in the initial namespace (pktgen needs it
    there), end `b` in namespace ns_b; a's peer side in ns_a for sockets."""

    def __init__(self, kind, tag, data_extra=b""):
        self.kind = kind
        self.a = f"{tag}a"
        self.b = f"{tag}b"
        self.ns_a = f"bn_{tag}a"
        self.ns_b = f"bn_{tag}b"
        for ns in (self.ns_a, self.ns_b):
            sh(f"ip netns add {ns}")
            sh(f"ip -n {ns} link set dev lo up")
        fd = os.open(f"/run/netns/{self.ns_b}", os.O_RDONLY)
        try:
            rtnl.create_pair(self.a, peer={"name": self.b, "netns_fd": fd}, kind=kind, data_extra=data_extra)
        finally:
            os.close(fd)
        self.mac_b = json.loads(sh(f"ip -n {self.ns_b} -j link show dev {self.b}"))[0]["address"]
        self.mac_a = json.loads(sh(f"ip -j link show dev {self.a}"))[0]["address"]
        for pre, dev in (("", self.a), (f"ip netns exec {self.ns_b} ", self.b)):
            sh(f"{pre}sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1")
        sh(f"ip -n {self.ns_b} addr add 10.50.0.2/24 dev {self.b}")
        sh(f"ip -n {self.ns_b} link set dev {self.b} up")
        sh(f"ip -n {self.ns_b} neigh add 10.50.0.1 lladdr {self.mac_a} dev {self.b} nud permanent")

    def to_netns(self):
        """Move end a into ns_a (socket tests run between ns_a and ns_b)."""
        sh(f"ip link set dev {self.a} netns {self.ns_a}")
        sh(f"ip -n {self.ns_a} addr add 10.50.0.1/24 dev {self.a}")
        sh(f"ip -n {self.ns_a} link set dev {self.a} up")
        sh(f"ip -n {self.ns_a} neigh add 10.50.0.2 lladdr {self.mac_b} dev {self.a} nud permanent")

    def set_mtu(self, mtu):
        sh(f"ip -n {self.ns_a} link set dev {self.a} mtu {mtu}")
        sh(f"ip -n {self.ns_b} link set dev {self.b} mtu {mtu}")


def features(pre, dev):
    return sh(f"{pre}ethtool -k {dev}").splitlines()[1:]


def pktgen(pair, count):
    """Crossing cost: pktgen on end a, 64-byte frames to a foreign MAC, so
    the peer's IP layer drops them (PACKET_OTHERHOST)."""
    pg = "/proc/net/pktgen"
    def w(f, s):
        with open(f, "w") as fh:
            fh.write(s + "\n")
    sh(f"ip link set dev {pair.a} up")
    w(f"{pg}/kpktgend_0", "rem_device_all")
    w(f"{pg}/kpktgend_0", f"add_device {pair.a}")
    dev = f"{pg}/{pair.a}"
    for cmd in (f"count {count}", "clone_skb 0", "burst 1", "pkt_size 60", "delay 0",
                "dst 10.50.0.2", "dst_mac 02:00:00:00:00:09"):
        w(dev, cmd)
    try:
        w(dev, "flag !SHARED")
    except OSError:
        pass
    w(f"{pg}/pgctrl", "start")
    res = open(dev).read()
    w(f"{pg}/kpktgend_0", "rem_device_all")
    m = re.search(r"Result: OK: (\d+)\(.*?\) usec, (\d+) \(", res)
    if not m:
        raise RuntimeError(f"pktgen: {res}")
    usec, sent = int(m.group(1)), int(m.group(2))
    return {"mpps": sent / usec, "ns_per_pkt": usec * 1000.0 / sent}


XDP_PROGS = os.path.join(TOP, "tests", "xdp", "progs.c")


def xdp_attach(ns, dev, name):
    """Attaches test program `name` (tests/xdp/progs.c, built here with
    clang's BPF target) to `dev` (in namespace `ns`, None: the initial one)
    in driver mode; None detaches."""
    ip = f"ip -n {ns}" if ns else "ip"
    if name is None:
        sh(f"{ip} link set dev {dev} xdpdrv off")
        return
    obj = f"/tmp/rveth-bench-xdp/{name}.o"
    if not os.path.exists(obj):
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        sh(f"clang-22 -O2 -g -target bpf -DPROG={name} -I/usr/include/x86_64-linux-gnu "
           f"-c {XDP_PROGS} -o {obj}")
    sh(f"{ip} link set dev {dev} xdpdrv obj {obj} sec xdp")


def queue_sum(ns, dev, name):
    """`ethtool -S` rx_queue_*_`name`, summed."""
    out = sh(f"ip netns exec {ns} ethtool -S {dev}")
    return sum(int(v) for k, v in (l.split(":") for l in out.splitlines()[1:])
               if re.fullmatch(rf"\s*rx_queue_\d+_{name}", k))


def xdp_detach_all(pairs):
    """Detaches the programs of every pair's end b once no pair's queues
    take packets any more (two reads 0.5 s apart agree, for at most 10 s):
    every detach re-patches bpf_dispatcher_xdp_func, and doing that while
    another vCPU runs XDP crashed the emulated VM (int3 Oops, QEMU TCG)."""
    def taken():
        return [queue_sum(p.ns_b, p.b, "xdp_packets") for p in pairs]
    last, t_end = taken(), time.monotonic() + 10
    while time.monotonic() < t_end:
        time.sleep(0.5)
        now = taken()
        if now == last:
            break
        last = now
    for p in pairs:
        xdp_attach(p.ns_b, p.b, None)


def xdp_drop(pair, count):
    """pktgen on end a as in `pktgen`, an XDP_DROP program on end b: the
    rate b's program dropped at (counted by b's queues, over pktgen's
    time)."""
    before = queue_sum(pair.ns_b, pair.b, "xdp_drops")
    r = pktgen(pair, count)
    time.sleep(0.3)
    dropped = queue_sum(pair.ns_b, pair.b, "xdp_drops") - before
    return {"mpps": dropped / (r["ns_per_pkt"] * count / 1000.0)}


def xdp_tx(pair, count):
    """pktgen on end a, an XDP_TX program at end b (it swaps the Ethernet
    addresses): the rate b sent frames back to a at (b's xdp_tx counter,
    over pktgen's time). a has an XDP_PASS program, so that a's NAPI runs
    for them: veth drops XDP_TX frames to a peer without NAPI, and with
    GRO alone at a it does not schedule a's NAPI after the bulk (the ring
    fills, then every frame is an xdp_tx_error)."""
    before = queue_sum(pair.ns_b, pair.b, "xdp_tx")
    r = pktgen(pair, count)
    time.sleep(0.3)
    sent_back = queue_sum(pair.ns_b, pair.b, "xdp_tx") - before
    return {"mpps": sent_back / (r["ns_per_pkt"] * count / 1000.0)}


class RedirectTarget:
    """A second pair of the same kind, c and d in ns_b: b's program
    redirects what pktgen sends through a device map into c, whose
    `ndo_xdp_xmit` puts the frames into d's rings; d's XDP_DROP program
    counts them (and gives d NAPI, which veth needs to take them)."""

    def __init__(self, pair):
        self.pair, ns = pair, pair.ns_b
        self.c, self.d = pair.b + "c", pair.b + "d"
        rtnl.create_pair(self.c, self.d, netns=ns, kind=pair.kind)
        for dev in (self.c, self.d):
            # No IPv6: c's own neighbour discovery would reach d's program.
            sh(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1")
            sh(f"ip -n {ns} link set dev {dev} up")
        xdp_attach(ns, self.d, "xdp_drop")
        xdp_attach(ns, pair.b, "xdp_redirect_devmap")
        info = json.loads(sh(f"ip -n {ns} -j -d link show dev {pair.b}"))[0]
        (mid,) = json.loads(sh(f"bpftool -j prog show id {info['xdp']['prog']['id']}"))["map_ids"]
        idx = json.loads(sh(f"ip -n {ns} -j link show dev {self.c}"))[0]["ifindex"]
        hexb = lambda w: " ".join(str(b) for b in w.to_bytes(4, "little"))
        sh(f"ip netns exec {ns} bpftool map update id {mid} key {hexb(0)} value {hexb(idx)}")

    def measure(self, count):
        """The rate d's program dropped the redirected frames at."""
        ns = self.pair.ns_b
        before = queue_sum(ns, self.d, "xdp_drops")
        r = pktgen(self.pair, count)
        time.sleep(0.3)
        got = queue_sum(ns, self.d, "xdp_drops") - before
        return {"mpps": got / (r["ns_per_pkt"] * count / 1000.0)}

    def remove(self):
        """Detaches both programs (once quiet) and deletes the pair."""
        xdp_detach_all([self.pair])
        xdp_attach(self.pair.ns_b, self.d, None)
        sh(f"ip -n {self.pair.ns_b} link del dev {self.c}")


def iperf(pair, args, seconds):
    srv = subprocess.Popen(f"ip netns exec {pair.ns_b} iperf3 -s -1 -B 10.50.0.2 -p 5301",
                           shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.7)
    try:
        out = sh(f"ip netns exec {pair.ns_a} iperf3 -c 10.50.0.2 -p 5301 -t {seconds} -J {args}", timeout=seconds + 60)
    finally:
        srv.wait(timeout=30)
    return json.loads(out)["end"]


def tcp_stream(pair, seconds):
    end = iperf(pair, "", seconds)
    return {"gbit_s": end["sum_received"]["bits_per_second"] / 1e9}


def udp_pps(pair, seconds):
    end = iperf(pair, "-u -l 64 -b 0", seconds)
    s = end["sum"]
    received = s["packets"] - s["lost_packets"]
    return {"kpps": received / s["seconds"] / 1e3, "lost_pct": s["lost_percent"]}


RR = r"""
import socket, sys, time
proto, n = sys.argv[1], int(sys.argv[2])
if proto == 'tcp':
    s = socket.create_connection(('10.50.0.2', 5302)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send, recv = s.sendall, lambda: s.recv(64)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('10.50.0.2', 5302))
    send, recv = s.send, lambda: s.recv(64)
lat = []
for _ in range(n):
    t = time.perf_counter_ns(); send(b'x' * 32); recv(); lat.append(time.perf_counter_ns() - t)
lat.sort(); print(lat[len(lat) // 2], lat[len(lat) * 99 // 100])
"""

RR_SERVER = r"""
import socket, sys
proto = sys.argv[1]
if proto == 'tcp':
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('10.50.0.2', 5302)); l.listen(1)
    print('ready', flush=True); c, _ = l.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(64)
        if not d: break
        c.sendall(d)
else:
    # No timeout before the first datagram: the client's Python took over
    # 5 s to start on the KASAN kernel, the server had gone, and the client
    # died on ECONNREFUSED. The harness terminates the server.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.50.0.2', 5302))
    print('ready', flush=True)
    d, a = s.recvfrom(64); s.sendto(d, a); s.settimeout(60)
    try:
        while True:
            d, a = s.recvfrom(64); s.sendto(d, a)
    except socket.timeout:
        pass
"""


def rr(pair, proto, n):
    srv = subprocess.Popen(["ip", "netns", "exec", pair.ns_b, sys.executable, "-c", RR_SERVER, proto],
                           stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    out = subprocess.run(["ip", "netns", "exec", pair.ns_a, sys.executable, "-c", RR, proto, str(n)],
                         capture_output=True, text=True, timeout=600)
    srv.terminate() if proto == "udp" else None
    srv.wait(timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"{proto} RR client failed ({out.returncode}): {out.stderr[-1500:]}")
    p50, p99 = map(int, out.stdout.split())
    return {"p50_us": p50 / 1000, "p99_us": p99 / 1000}


def two_senders(pair, seconds):
    """Two UDP senders pinned to CPU 0 and CPU 1 into one receiver."""
    procs, outs = [], []
    srvs = [subprocess.Popen(f"ip netns exec {pair.ns_b} iperf3 -s -1 -B 10.50.0.2 -p {p}", shell=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in (5303, 5304)]
    time.sleep(0.7)
    for cpu, port in ((0, 5303), (1, 5304)):
        procs.append(subprocess.Popen(
            f"ip netns exec {pair.ns_a} taskset -c {cpu} iperf3 -c 10.50.0.2 -p {port} -u -l 64 -b 0 -t {seconds} -J",
            shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    for p in procs:
        outs.append(json.loads(p.communicate(timeout=seconds + 60)[0])["end"]["sum"])
    for s in srvs:
        s.wait(timeout=30)
    rx = sum(o["packets"] - o["lost_packets"] for o in outs)
    sent = sum(o["packets"] for o in outs)
    return {"kpps": rx / outs[0]["seconds"] / 1e3, "lost_pct": 100.0 * (sent - rx) / max(sent, 1)}


UDP_GSO_SENDER = r"""
import errno, socket, sys, time
seconds = float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, 1300)  # UDP_SEGMENT: 1300-byte segments
s.connect(('10.51.0.2', 5305))
buf = b'x' * (1300 * 50)
sends = 0  # including those that returned ENOBUFS (some segments dropped)
t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    try:
        s.send(buf)
    except OSError as e:
        if e.errno != errno.ENOBUFS:
            raise
    sends += 1
print(sends, time.monotonic() - t0)
"""


def fwd_setup(pair, on):
    """Forwarding through end b (issue 12's "UDP GSO forwarding", the case
    of veth commit d3256efd8e8b): ns_b forwards 10.51.0.0/24 to a dummy
    device, where the forwarded bytes are counted; ns_a routes it via end b.
    End a segments UDP GSO sends in software (`tx-udp-segmentation off`), so
    1300-byte datagrams cross the pair; end b has `rx-udp-gro-forwarding
    on`, so with GRO on its NAPI can aggregate them again before they are
    forwarded."""
    a, b = f"ip netns exec {pair.ns_a} ", f"ip netns exec {pair.ns_b} "
    if on:
        sh(f"{b}sysctl -qw net.ipv4.ip_forward=1")
        sh(f"ip -n {pair.ns_b} link add fwd0 type dummy")
        # No IPv6 on the dummy: its router solicitations would be counted.
        sh(f"{b}sysctl -qw net.ipv6.conf.fwd0.disable_ipv6=1")
        sh(f"ip -n {pair.ns_b} addr add 10.51.0.1/24 dev fwd0")
        sh(f"ip -n {pair.ns_b} link set dev fwd0 up")
        sh(f"ip -n {pair.ns_a} route add 10.51.0.0/24 via 10.50.0.2 dev {pair.a}")
        sh(f"{a}ethtool -K {pair.a} tx-udp-segmentation off")
        sh(f"{b}ethtool -K {pair.b} rx-udp-gro-forwarding on")
    else:
        sh(f"{b}ethtool -K {pair.b} rx-udp-gro-forwarding off")
        sh(f"{a}ethtool -K {pair.a} tx-udp-segmentation on")
        sh(f"ip -n {pair.ns_a} route del 10.51.0.0/24")
        sh(f"ip -n {pair.ns_b} link del fwd0")
        sh(f"{b}sysctl -qw net.ipv4.ip_forward=0")


def udp_gso_forward(pair, seconds):
    """One sender of 65,000-byte UDP GSO sends (50 segments of 1300 bytes)
    from ns_a through the pair, forwarded by ns_b to its dummy device.
    Counted where they arrive, at the dummy: the payload forwarded over the
    sender's time (its bytes less 42 bytes of Ethernet, IP and UDP headers
    per forwarded packet, so that aggregation does not count as rate), the
    datagrams lost (offered 50 per send), and the bytes per forwarded packet
    (1342, headers included, when every datagram is forwarded alone; up to
    65,042 when GRO aggregated a whole send). Segmentation, both ends, the
    forwarding and the dummy all run on the sender's vCPU."""
    def fwd():
        tx = json.loads(sh(f"ip -n {pair.ns_b} -s -j link show dev fwd0"))[0]["stats64"]["tx"]
        return tx["packets"], tx["bytes"]
    p0, b0 = fwd()
    out = subprocess.run(["ip", "netns", "exec", pair.ns_a, sys.executable, "-c", UDP_GSO_SENDER,
                          str(seconds)], capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"UDP GSO sender failed ({out.returncode}): {out.stderr[-1500:]}")
    sends, elapsed = int(out.stdout.split()[0]), float(out.stdout.split()[1])
    p1, b1 = fwd()
    if sends == 0 or p1 == p0:
        raise RuntimeError(f"UDP GSO forwarding: {sends} sends, {p1 - p0} packets forwarded")
    payload = (b1 - b0) - 42 * (p1 - p0)
    return {"gbit_s": payload * 8 / elapsed / 1e9, "bytes_per_pkt": (b1 - b0) / (p1 - p0),
            "lost_pct": 100.0 * max(0.0, 1 - payload / 1300 / (50 * sends))}


def marked(pair, on):
    """Mark every packet end a sends (tc egress skbedit: mark and
    priority), as a container's marking sender would."""
    pre = f"ip netns exec {pair.ns_a} "
    if on:
        sh(f"{pre}tc qdisc add dev {pair.a} clsact")
        sh(f"{pre}tc filter add dev {pair.a} egress protocol all basic action skbedit mark 0x10 priority 1:10")
    else:
        sh(f"{pre}tc qdisc del dev {pair.a} clsact")


def kernel_kb():
    """Slab + Percpu of /proc/meminfo, in KiB: the kernel memory a device
    takes (net_device and private area, queues, per-CPU counters)."""
    m = {}
    for line in open("/proc/meminfo"):
        k, v = line.split(":")
        m[k] = int(v.split()[0])
    return m["Slab"] + m["Percpu"]


def settled_kernel_kb(limit_s=30.0):
    """kernel_kb() once it has stopped moving: namespaces deleted by earlier
    rows are torn down by a workqueue and RCU callbacks free slab objects
    later, so a reading taken right away can include memory that is about
    to be freed (CI once saw a negative KiB/pair for 20 pairs that way).
    Waits until three readings 0.3 s apart agree within 32 KiB."""
    t_end = time.monotonic() + limit_s
    last = []
    while True:
        sh("sync; echo 2 > /proc/sys/vm/drop_caches")
        last = (last + [kernel_kb()])[-3:]
        if len(last) == 3 and max(last) - min(last) <= 32:
            return last[-1]
        if time.monotonic() > t_end:
            log(f"scale: kernel memory still moving after {limit_s:.0f}s: {last}")
            return last[-1]
        time.sleep(0.3)


def scale(kind, n):
    """Creates `n` pairs of `kind` with 2 transmit and 2 receive queues per
    end in a fresh namespace over one rtnetlink socket, then deletes them
    one by one: per pair the creation time, the deletion time and the
    kernel memory (slab + percpu) the pairs held."""
    ns = "bn_scale"
    sh(f"ip netns add {ns}")
    q = {"numtxqueues": 2, "numrxqueues": 2}
    try:
        with rtnl.Rtnl(ns) as r:
            before = settled_kernel_kb()
            t = time.monotonic()
            for i in range(n):
                r.newlink(rtnl.pair_msg(kind=kind, name=f"s{i}", peer={"name": f"t{i}", **q}, **q))
            created = time.monotonic() - t
            held = kernel_kb() - before
            t = time.monotonic()
            for i in range(n):
                r.dellink(name=f"s{i}")
            deleted = time.monotonic() - t
    finally:
        sh(f"ip netns del {ns}")
    return {"create_ms": created * 1e3 / n, "delete_ms": deleted * 1e3 / n, "kib": held / n}


def loopback_pair():
    """A stand-in 'pair' whose both sides are lo in one namespace (the floor)."""
    class Lo:
        kind = "lo"
        ns_a = ns_b = "bn_lo"
    sh("ip netns add bn_lo && ip -n bn_lo link set dev lo up && ip -n bn_lo addr add 10.50.0.2/8 dev lo")
    return Lo()


# Defaults, chosen from measurements in docs/performance.md ("How many
# rounds"): the pktgen row is cheap (about 2.5 s a round), the socket rows
# are not (about a minute a round).
ROUNDS = 10
PKTGEN_ROUNDS = 40
PKTGEN_COUNT = 200000


def main():
    t0 = time.monotonic()
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=None,
                    help=f"rounds of every row (default: {ROUNDS}, and {PKTGEN_ROUNDS} for pktgen)")
    ap.add_argument("--pktgen-rounds", type=int, default=None,
                    help=f"rounds of the pktgen row (default: --rounds if given, else {PKTGEN_ROUNDS})")
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--pktgen-count", type=int, default=PKTGEN_COUNT)
    ap.add_argument("--rr-count", type=int, default=2000)
    ap.add_argument("--only-pktgen", action="store_true", help="just the crossing cost")
    ap.add_argument("--only-xdp", action="store_true",
                    help="just the pktgen rows (crossing, XDP_DROP, XDP_TX, XDP_REDIRECT)")
    ap.add_argument("--only-gro", action="store_true",
                    help="just the GRO rows and their GRO-off baselines (UDP 64B, 2 senders, "
                         "TCP stream with sender TSO off, UDP GSO forwarding), --rounds rounds")
    ap.add_argument("--only-xdp-pass", action="store_true",
                    help="just the row with an XDP_PASS program (TCP stream), --rounds rounds")
    ap.add_argument("--only-scale", action="store_true",
                    help="just the scale row, --scale-rounds rounds")
    ap.add_argument("--scale-pairs", type=int, default=1000)
    ap.add_argument("--scale-rounds", type=int, default=7,
                    help="rounds of the scale row (0: none)")
    a = ap.parse_args()
    pktgen_rounds = a.pktgen_rounds or a.rounds or PKTGEN_ROUNDS
    a.rounds = a.rounds or ROUNDS

    insmod("veth", "veth.ko")
    insmod("pktgen", "pktgen.ko")
    if not os.path.isdir("/sys/module/rveth"):
        sh(f"insmod {TOP}/rveth.ko")
    pairs = {"veth": Pair("veth", "v"), "rveth": Pair("rveth", "r")}
    # rveth with `classid mark` (IFLA_INFO_DATA attribute 3 = 1): the
    # metadata path of its transmit, for the marked-senders row.
    marked_pairs = {"veth": pairs["veth"], "rveth": Pair("rveth", "m", data_extra=rtnl.attr(3, b"\x01"))}
    fv, fr = features("", "va"), features("", "ra")
    if fv != fr:
        print("BENCH-REFUSED: ethtool -k differs:", set(fv) ^ set(fr), flush=True)
        sys.exit(1)
    log(f"ethtool -k identical ({len(fv)} lines); pktgen {pktgen_rounds} rounds of "
        f"{a.pktgen_count} frames; rounds={a.rounds}, {a.seconds}s per sample")

    rows = {}
    orders = {}  # row -> each round's order of kinds
    def record(row, kind, value):
        rows.setdefault(row, {}).setdefault(kind, []).append(value)

    def round_order(row, r):
        kinds = ["veth", "rveth"] if r % 2 == 0 else ["rveth", "veth"]
        orders.setdefault(row, []).append(kinds)
        return kinds

    def pktgen_rounds_of(row, fn):
        """Interleaved rounds of a pktgen row. One discarded run per pair
        first: under TCG the first pass through a code path pays for its
        translation, and it would land on whichever driver runs first."""
        for kind in ("veth", "rveth"):
            fn(pairs[kind], max(a.pktgen_count // 4, 1000))
        for r in range(pktgen_rounds):
            for kind in round_order(row, r):
                log(f"round {r + 1}/{pktgen_rounds}: {row} {kind}")
                record(row, kind, fn(pairs[kind], a.pktgen_count))

    # Rows that one of the --only options leaves out.
    no_pktgen = a.only_gro or a.only_xdp_pass or a.only_scale
    no_sockets = a.only_gro or a.only_xdp_pass or a.only_scale
    if not no_pktgen:
        pktgen_rounds_of("pktgen 64B crossing", pktgen)
    # XDP (issue 13), each row a program at end b acting on what pktgen
    # sends: XDP_DROP; XDP_TX back to a (an XDP_PASS program at a: its
    # NAPI takes them); XDP_REDIRECT through a device map into a second
    # pair.
    if not (a.only_pktgen or no_pktgen):
        for p in pairs.values():
            xdp_attach(p.ns_b, p.b, "xdp_drop")
        pktgen_rounds_of("XDP_DROP: pktgen 64B", xdp_drop)
        xdp_detach_all(list(pairs.values()))
        for p in pairs.values():
            xdp_attach(None, p.a, "xdp_pass")
            xdp_attach(p.ns_b, p.b, "xdp_tx")
        pktgen_rounds_of("XDP_TX: pktgen 64B, back to the sender", xdp_tx)
        xdp_detach_all(list(pairs.values()))
        for p in pairs.values():
            xdp_attach(None, p.a, None)
        targets = {kind: RedirectTarget(p) for kind, p in pairs.items()}
        pktgen_rounds_of("XDP_REDIRECT: pktgen 64B, pair to pair",
                         lambda p, n: targets[p.kind].measure(n))
        for t in targets.values():
            t.remove()
    if a.only_pktgen or a.only_xdp or a.only_scale:
        tests_rounds = 0
    else:
        tests_rounds = a.rounds
    for p in pairs.values():
        p.to_netns()
    marked_pairs["rveth"].to_netns()
    lo = loopback_pair()
    tests = [
        ("UDP 64B pps", lambda p: udp_pps(p, a.seconds)),
        ("TCP stream", lambda p: tcp_stream(p, a.seconds)),
        ("TCP RR", lambda p: rr(p, "tcp", a.rr_count)),
        ("UDP RR", lambda p: rr(p, "udp", a.rr_count)),
        ("2 senders UDP 64B", lambda p: two_senders(p, a.seconds)),
    ]

    def run_rounds(tests, loopback=False):
        """Interleaved rounds of `tests` on both kinds (and, with
        `loopback`, on the loopback pair for rows it can measure)."""
        for r in range(tests_rounds):
            for name, fn in tests:
                for kind in round_order(name, r):
                    log(f"round {r + 1}/{a.rounds}: {name} {kind}")
                    record(name, kind, fn(pairs[kind]))
                if loopback and name != "2 senders UDP 64B":
                    log(f"round {r + 1}/{a.rounds}: {name} loopback")
                    record(name, "lo", fn(lo))

    if a.only_gro:
        # The GRO-off baselines of the gains (report.GAINS), nothing else.
        run_rounds([t for t in tests if t[0] in ("UDP 64B pps", "2 senders UDP 64B")])
    elif not (a.only_xdp_pass or a.only_scale):
        run_rounds(tests, loopback=True)
    # Marked traffic from both vCPUs: veth scrubs mark and priority; rveth
    # with `classid mark` does the same and counts both per CPU.
    for r in range(0 if no_sockets else tests_rounds):
        for kind in round_order("2 senders UDP 64B marked", r):
            p = marked_pairs[kind]
            log(f"round {r + 1}/{a.rounds}: 2 senders UDP 64B marked, {kind}{' classid mark' if kind == 'rveth' else ''}")
            marked(p, True)
            try:
                record("2 senders UDP 64B marked", kind, two_senders(p, a.seconds))
            finally:
                marked(p, False)
    gro_napi = {}
    if not (a.only_xdp_pass or a.only_scale):
        # veth's GRO mode (issue 12): `gro on` at the receiving end puts NAPI on
        # its queues. The sender's TSO is off in these rows, else TCP skbs are
        # not eligible for the NAPI path (veth_skb_is_eligible_for_gro) and the
        # row would measure the default path again; "TCP stream, sender TSO
        # off" with GRO off is the baseline of the GRO gain.
        for p in pairs.values():
            sh(f"ip netns exec {p.ns_a} ethtool -K {p.a} tso off")
        run_rounds([("TCP stream, sender TSO off", lambda p: tcp_stream(p, a.seconds))])
        for p in pairs.values():
            sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro on")
        gro_tests = [
            ("GRO: TCP stream, sender TSO off", lambda p: tcp_stream(p, a.seconds)),
            ("GRO: UDP 64B pps", lambda p: udp_pps(p, a.seconds)),
            ("GRO: 2 senders UDP 64B", lambda p: two_senders(p, a.seconds)),
        ]
        run_rounds(gro_tests)
        for kind, p in pairs.items():
            gro_napi[kind] = queue_sum(p.ns_b, p.b, "xdp_packets")
            sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro off")
            sh(f"ip netns exec {p.ns_a} ethtool -K {p.a} tso on")
        # UDP GSO forwarding (issue 12), GRO off (the baseline) and on. End a
        # keeps TSO on here: the datagrams reach b's NAPI only through veth's
        # rule for socket-owned skbs with rx-udp-gro-forwarding at the receiver.
        if tests_rounds:
            for p in pairs.values():
                fwd_setup(p, True)
            run_rounds([("UDP GSO forwarding", lambda p: udp_gso_forward(p, a.seconds))])
            for kind, p in pairs.items():
                sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro on")
                gro_napi[kind] -= queue_sum(p.ns_b, p.b, "xdp_packets")
            run_rounds([("GRO: UDP GSO forwarding", lambda p: udp_gso_forward(p, a.seconds))])
            for kind, p in pairs.items():
                gro_napi[kind] += queue_sum(p.ns_b, p.b, "xdp_packets")
                sh(f"ip netns exec {p.ns_b} ethtool -K {p.b} gro off")
                fwd_setup(p, False)
    # An XDP_PASS program at the receiving end: the peer loses software GSO
    # and every packet is copied into the receiver's page pool (the path
    # xdp-tutorial#292 reports veth at 45 -> 8 Gbit/s on).
    xdp_pass_packets = {}
    if not (a.only_gro or a.only_scale):
        for kind, p in pairs.items():
            xdp_pass_packets[kind] = -queue_sum(p.ns_b, p.b, "xdp_packets")
            xdp_attach(p.ns_b, p.b, "xdp_pass")
        run_rounds([("XDP_PASS: TCP stream", lambda p: tcp_stream(p, a.seconds))])
        xdp_detach_all(list(pairs.values()))
        for kind, p in pairs.items():
            xdp_pass_packets[kind] += queue_sum(p.ns_b, p.b, "xdp_packets")
    mp = marked_pairs["rveth"]
    meta_counts = {k.strip(): int(v) for k, v in (l.split(":") for l in
                   sh(f"ip netns exec {mp.ns_a} ethtool -S {mp.a}").splitlines()[1:])}
    for p in pairs.values():
        p.set_mtu(65535)
    for r in range(0 if no_sockets else tests_rounds):
        for kind in round_order("TCP stream MTU 65535", r):
            log(f"round {r + 1}/{a.rounds}: TCP stream MTU 65535 {kind}")
            record("TCP stream MTU 65535", kind, tcp_stream(pairs[kind], a.seconds))

    scale_row = f"scale: {a.scale_pairs} pairs, 2+2 queues per end"
    for r in range(a.scale_rounds if a.only_scale or not (a.only_pktgen or a.only_xdp or no_sockets) else 0):
        for kind in round_order(scale_row, r):
            log(f"round {r + 1}/{a.scale_rounds}: {scale_row}, {kind}")
            record(scale_row, kind, scale(kind, a.scale_pairs))

    meta = {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "emulated": "TCG (QEMU software emulation)" if not os.path.exists("/dev/kvm") else "see host",
        "rounds": tests_rounds,
        "seconds": a.seconds,
        "pktgen_rounds": 0 if no_pktgen else pktgen_rounds,
        "pktgen_count": a.pktgen_count,
        "rr_count": a.rr_count,
        "duration_s": round(time.monotonic() - t0, 1),
        "ethtool_k_identical": True,
        # What the marked row sent through rveth's metadata path.
        "marked_rveth_counters": meta_counts,
        # Packets the receivers' NAPI queues took in the GRO rows (proof
        # that the rows ran the GRO path on both drivers).
        "gro_napi_packets": gro_napi,
        # Packets the receivers' queues took in the XDP_PASS row (proof
        # that the program's path ran on both drivers).
        "xdp_pass_packets": xdp_pass_packets,
    }
    print("BENCH-JSON-BEGIN")
    print(json.dumps({"meta": meta, "rows": rows, "orders": orders}))
    print("BENCH-JSON-END", flush=True)


def cleanup():
    for ns in ("bn_va", "bn_vb", "bn_ra", "bn_rb", "bn_ma", "bn_mb", "bn_lo"):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for dev in ("va", "ra", "ma"):
        subprocess.run(["ip", "link", "del", "dev", dev], capture_output=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
