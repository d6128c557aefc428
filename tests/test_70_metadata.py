# SPDX-License-Identifier: GPL-2.0
"""Where the classid goes: a container's net_cls classid and mark crossing
the pair and reaching the host's egress qdisc (issue 5).

Topology: netns C (the container) --pair1-- netns H (the host) --veth-- netns
D. H routes (or bridges) C's traffic to D; the egress of H's end towards D
has an HTB qdisc with class 1:10, default class 1:30, and a `fw` filter
without rules, which uses skb->mark as the class id. A process in a net_cls
cgroup with classid 1:10 (0x00010010) sends UDP from C to D.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import load_veth, same_as_veth
from util import (TraceEvents, ethtool_stats, ip_plugin, make_pair, nstat, permanent_neighbours, run,
                  wait_until)

CLASSID = 0x00010010
N = 40

SENDER = r"""
import socket, sys
mark = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mark:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
for i in range(int(sys.argv[3])):
    s.sendto(b'x' * 64, (sys.argv[1], 9000))
"""


@pytest.fixture(scope="module")
def netcls():
    """A cgroup v1 net_cls hierarchy with group c1 = classid 1:10."""
    d = tempfile.mkdtemp(prefix="netcls")
    run(f"mount -t cgroup -o net_cls net_cls {d}")
    os.makedirs(f"{d}/c1", exist_ok=True)
    with open(f"{d}/c1/net_cls.classid", "w") as f:
        f.write(str(CLASSID))
    yield f"{d}/c1"
    run(f"rmdir {d}/c1", check=False)
    run(f"umount {d}", check=False)


def send(ns, dst, n=N, mark=0, cgroup=None):
    """Send n UDP datagrams from namespace ns, optionally from a net_cls cgroup."""
    join = f"echo $$ > {cgroup}/cgroup.procs && " if cgroup else ""
    cmd = f"{join}exec ip netns exec {ns} {sys.executable} -c \"{SENDER}\" {dst} {mark} {n}"
    subprocess.run(["sh", "-c", cmd], check=True, timeout=600)


def class_packets(ns, dev):
    """{class handle: packets sent} from `tc -s class show`."""
    import re
    out = run(f"ip netns exec {ns} tc -s class show dev {dev}")
    found = re.findall(r"class \S+ (\S+) .*?\n\s*Sent \d+ bytes (\d+) pkt", out)
    assert found, out
    return {h: int(p) for h, p in found}


def classes_after(h, n=N):
    """class_packets() of H's h1 once `n` packets went through its classes:
    HTB may dequeue (and count) after the sender returned. Only the sender's
    packets leave h1 (IPv6 is off everywhere, neighbours are permanent), so
    the counts are exact: a packet more fails the caller's equality."""
    def counted():
        c = class_packets(h, "h1")
        return c if c.get("1:10", 0) + c.get("1:30", 0) >= n else None
    return wait_until(counted, timeout=120, what=f"{n} packets through h1's classes")


def topology(netns, kind, policy="", bridge=False):
    c, h, d = netns.new("C"), netns.new("H"), netns.new("D")
    if kind == "rveth":
        ip_plugin(f"-n {h} link add name h0 type rveth {policy} peer name c0 netns {c}")
    else:
        run(f"ip -n {h} link add name h0 type veth peer name c0 netns {c}")
    run(f"ip -n {h} link add name h1 type veth peer name d1 netns {d}")
    for ns, dev in ((c, "c0"), (h, "h0"), (h, "h1"), (d, "d1")):
        run(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1")
        run(f"ip -n {ns} link set dev {dev} up")
    if bridge:
        # No IPv6 on the bridge either (its link-local address, DAD and
        # router solicitations would leave through h1), and no multicast
        # snooping: a snooping bridge joins the all-snoopers group
        # 224.0.0.106 when it comes up, and its IGMP report leaves through h1.
        run(f"ip -n {h} link add name br0 type bridge mcast_snooping 0")
        run(f"ip netns exec {h} sysctl -qw net.ipv6.conf.br0.disable_ipv6=1")
        run(f"ip -n {h} link set dev br0 up")
        run(f"ip -n {h} link set dev h0 master br0 && ip -n {h} link set dev h1 master br0")
        run(f"ip -n {c} addr add 10.3.0.2/24 dev c0 && ip -n {d} addr add 10.3.0.3/24 dev d1")
        dst = "10.3.0.3"
        mac = json.loads(run(f"ip -n {d} -j link show dev d1"))[0]["address"]
        run(f"ip -n {c} neigh add {dst} lladdr {mac} dev c0 nud permanent")
        # D answers each datagram with an ICMP port unreachable towards C:
        # without a neighbour entry it would first ask for C's MAC, and C's
        # ARP reply would leave through h1 (class 1:30).
        cmac = json.loads(run(f"ip -n {c} -j link show dev c0"))[0]["address"]
        run(f"ip -n {d} neigh add 10.3.0.2 lladdr {cmac} dev d1 nud permanent")
    else:
        run(f"ip -n {c} addr add 10.1.0.2/24 dev c0 && ip -n {h} addr add 10.1.0.1/24 dev h0")
        run(f"ip -n {h} addr add 10.2.0.1/24 dev h1 && ip -n {d} addr add 10.2.0.2/24 dev d1")
        run(f"ip -n {c} route add default via 10.1.0.1")
        run(f"ip netns exec {h} sysctl -qw net.ipv4.ip_forward=1")
        dst = "10.2.0.2"
        for a, dev, ip_, peer_ns, peer_dev in ((c, "c0", "10.1.0.1", h, "h0"), (h, "h1", "10.2.0.2", d, "d1")):
            mac = json.loads(run(f"ip -n {peer_ns} -j link show dev {peer_dev}"))[0]["address"]
            run(f"ip -n {a} neigh add {ip_} lladdr {mac} dev {dev} nud permanent")
    run(f"ip netns exec {h} tc qdisc add dev h1 root handle 1: htb default 30")
    run(f"ip netns exec {h} tc class add dev h1 parent 1: classid 1:10 htb rate 1gbit")
    run(f"ip netns exec {h} tc class add dev h1 parent 1: classid 1:30 htb rate 1gbit")
    run(f"ip netns exec {h} tc filter add dev h1 parent 1: protocol ip prio 1 fw")
    return c, h, d, dst


@pytest.mark.parametrize("bridge", [False, True], ids=["routed", "bridged"])
@pytest.mark.parametrize("policy,expect_1_10", [("", 0), ("classid mark", N)],
                         ids=["default", "classid-mark"])
def test_classid_reaches_host_qdisc(rveth, netns, netcls, bridge, policy, expect_1_10):
    c, h, _, dst = topology(netns, "rveth", policy, bridge)
    send(c, dst, cgroup=netcls)
    classes = classes_after(h)
    assert classes["1:10"] == expect_1_10, classes
    assert classes["1:30"] == N - expect_1_10, classes
    st = ethtool_stats(c, "c0")
    assert st["tx_meta_classid"] == N
    assert st["tx_meta_classid_carried"] == expect_1_10


@pytest.mark.parametrize("bridge", [False, True], ids=["routed", "bridged"])
def test_veth_loses_classid(rveth, netns, netcls, bridge):
    load_veth()
    c, h, _, dst = topology(netns, "veth", bridge=bridge)
    send(c, dst, cgroup=netcls)
    classes = classes_after(h)
    assert classes["1:10"] == 0 and classes["1:30"] == N, classes


def test_classid_priority(rveth, netns, netcls):
    # skb->priority carries the classid through the bridge (routing may
    # rewrite it from the TOS, so only the bridged path is asserted); HTB
    # classifies by priority when it names one of its classes.
    c, h, _, dst = topology(netns, "rveth", "classid priority", bridge=True)
    run(f"ip netns exec {h} tc filter del dev h1 parent 1: prio 1")
    send(c, dst, cgroup=netcls)
    classes = classes_after(h)
    assert classes["1:10"] == N and classes["1:30"] == 0, classes
    assert ethtool_stats(c, "c0")["tx_meta_classid_carried"] == N


@pytest.mark.parametrize("policy,kept", [("", False), ("scrub none", True)], ids=["default", "none"])
def test_scrub_mark(rveth, netns, policy, kept):
    c, h, _, dst = topology(netns, "rveth", policy)
    send(c, dst, mark=CLASSID)
    classes = classes_after(h)
    assert classes["1:10"] == (N if kept else 0), classes
    assert classes["1:30"] == (0 if kept else N), classes
    st = ethtool_stats(c, "c0")
    assert st["tx_meta_mark"] == N
    assert st["tx_meta_mark_cleared"] == (0 if kept else N)


def test_peer_override_and_show(rveth, netns):
    t = netns.new("t")
    ip_plugin(f"link add name pa type rveth scrub none classid mark peer scrub default classid priority name pb netns {t}")
    try:
        out = ip_plugin("-d link show dev pa").stdout
        assert "scrub none classid mark peer_scrub default peer_classid priority" in out, out
        j = json.loads(ip_plugin("-d -j link show dev pa").stdout)[0]["linkinfo"]["info_data"]
        assert j == {"scrub": "none", "classid": "mark", "peer_scrub": "default", "peer_classid": "priority"}
        jp = json.loads(ip_plugin(f"-n {t} -d -j link show dev pb").stdout)[0]["linkinfo"]["info_data"]
        assert jp["scrub"] == "default" and jp["classid"] == "priority" and jp["peer_classid"] == "mark"
    finally:
        run("ip link del dev pa", check=False)


@pytest.mark.parametrize("args,needle", [
    ("scrub bogus", 'argument "scrub" is wrong'),
    ("classid 7", 'argument "classid" is wrong'),
    ("peer name pb classid", 'argument of "classid" is missing'),
])
def test_bad_policy_words(rveth, args, needle):
    p = ip_plugin(f"link add name pa type rveth {args}", check=False)
    assert p.returncode != 0 and needle in p.stderr, p.stderr
    assert run("ip link show dev pa", check=False) == ""


@pytest.mark.parametrize("attr_type,value", [(2, 2), (3, 3), (4, 9), (5, 200)])
def test_bad_policy_values_netlink(rveth, attr_type, value):
    import errno
    import rtnl
    body = rtnl.pair_msg(peer={"name": "pb"}, name="pa", data_extra=rtnl.attr(attr_type, bytes([value])))
    with pytest.raises(rtnl.NetlinkError) as e:
        with rtnl.Rtnl() as r:
            r.newlink(body)
    assert e.value.errno == errno.ERANGE
    assert run("ip link show dev pa", check=False) == ""


def test_policy_fixed_after_creation(rveth):
    # No changelink: a later IFLA_INFO_DATA is refused (as veth refuses it)
    # and the policy shown stays what it was.
    ip_plugin("link add name pa type rveth classid mark peer name pb")
    try:
        p = ip_plugin("link set dev pa type rveth scrub none", check=False)
        assert p.returncode == 2 and "Operation not supported" in p.stderr
        d = json.loads(run("ip -d -j link show dev pa"))[0]["linkinfo"]
        assert d["info_kind"] == "rveth"
        shown = ip_plugin("-d link show dev pa").stdout
        assert "scrub default classid mark" in shown
    finally:
        run("ip link del dev pa")


@pytest.mark.parametrize("bridge", [False, True], ids=["routed", "bridged"])
@pytest.mark.parametrize("kind", ["veth", "rveth"])
def test_cgroup_classifier_on_host(rveth, netns, netcls, bridge, kind):
    # The cgroup classifier reads the classid from skb->sk in softirq
    # context. Routing orphans the skb in ip_rcv_core(), so nothing is
    # classified; bridging keeps the socket, so it works through either
    # pair. (Recorded here so docs/classid.md states a tested fact.)
    if kind == "veth":
        load_veth()
    c, h, _, dst = topology(netns, kind, bridge=bridge)
    run(f"ip netns exec {h} tc filter del dev h1 parent 1: prio 1")
    run(f"ip netns exec {h} tc filter add dev h1 parent 1: protocol ip prio 2 handle 1: cgroup")
    send(c, dst, cgroup=netcls)
    classes = classes_after(h)
    assert classes["1:10"] == (N if bridge else 0), classes
    assert classes["1:30"] == (0 if bridge else N), classes


# One marking sender per CPU, started together: each pins itself to its CPU,
# says it is ready, reads the common start time (the parent writes it once
# every sender is ready) and spins on the monotonic clock until then, so
# that their first packets cross at about the same time. One that reads
# the time late starts at once (it races less; the counts stay exact).
CPU_SENDER = r"""
import os, socket, sys, time
cpu, mark, n, dst = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.sched_setaffinity(0, {cpu})
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
print('ready', flush=True)
go = float(sys.stdin.readline())
while time.clock_gettime(time.CLOCK_MONOTONIC) < go:
    pass
for i in range(n):
    s.sendto(b'x' * 64, (dst, 9000))
"""


def module_pcpu_allocs(lines, kind):
    """The per-CPU allocations the module `kind` made itself, from lines of
    the `percpu_alloc_percpu` trace event (the call site is printed as
    `symbol+off/size [module]`)."""
    return [line for line in lines if f"[{kind}]" in line]


def test_meta_counters_exact_from_every_cpu(rveth, netns):
    """An end allocates its per-CPU metadata counters on its first packet
    with metadata, not when it is created (src/net/percpu.rs), so that
    creating a pair makes no per-CPU allocation beyond the core's. Checked
    with the `percpu_alloc_percpu` trace event: neither module allocates
    per-CPU memory itself while a pair is created (the core's tstats are
    the core's), and rveth allocates once or more (at most once per CPU)
    while marked packets go. The marked datagrams are sent at about the
    same time from every CPU into the fresh pair, so the senders' first
    packets may race to allocate (a CPU that loses frees its block and
    counts in the winner's); every packet is counted once in `ethtool -S`,
    and veth and rveth deliver the same number. Three fresh pairs per
    kind."""
    load_veth()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs for the senders' race")
    n = 300
    seen = {}
    # One trace instance for the whole test, read and emptied per phase.
    with TraceEvents("percpu/percpu_alloc_percpu") as ev:
        run_pairs(netns, cpus, n, ev, seen)
    same_as_veth("per-CPU allocations of the driver module while a pair is created",
                 seen["rveth"]["created"], seen["veth"]["created"])
    assert seen["rveth"]["created"] == [0, 0, 0], seen
    same_as_veth("packets delivered from marking senders on every CPU",
                 seen["rveth"]["delivered"], seen["veth"]["delivered"])
    assert seen["rveth"]["delivered"] == [n * len(cpus)] * 3, seen


def run_pairs(netns, cpus, n, ev, seen):
    """test_meta_counters_exact_from_every_cpu's three pairs per kind."""
    total = n * len(cpus)
    for kind in ("veth", "rveth"):
        seen[kind] = {"created": [], "delivered": []}
        allocs = []
        for r in range(3):
            a, b = netns.new(f"{kind[0]}a{r}"), netns.new(f"{kind[0]}b{r}")
            ev.take()
            make_pair(kind, a, b, ipv6=False)
            seen[kind]["created"].append(len(module_pcpu_allocs(ev.take(), kind)))
            permanent_neighbours(((a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")))
            if kind == "rveth":
                st0 = ethtool_stats(a, "ra")
                assert st0["tx_meta_mark"] == 0 and st0["tx_dropped"] == 0, st0
            before = nstat(b).get("IpInReceives", 0)
            ev.take()
            senders = [subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", CPU_SENDER,
                                         str(cpu), str(CLASSID), str(n), "10.9.0.2"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                       for cpu in cpus]
            for p in senders:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()
            go = time.clock_gettime(time.CLOCK_MONOTONIC) + 0.3
            for p in senders:
                p.stdin.write(f"{go}\n")
                p.stdin.flush()
            for p in senders:
                assert p.wait(timeout=300) == 0, p.stderr.read()
            allocs.append(len(module_pcpu_allocs(ev.take(), kind)))
            got = wait_until(lambda: (lambda v: v if v >= total else None)(
                nstat(b).get("IpInReceives", 0) - before), timeout=60, what=f"{total} packets at rb")
            seen[kind]["delivered"].append(got)
            if kind == "rveth":
                st = ethtool_stats(a, "ra")
                # The pair crosses namespaces: every mark is cleared.
                assert (st["tx_meta_mark"], st["tx_meta_mark_cleared"], st["tx_dropped"]) == \
                    (total, total, 0), st
                # rb sent only ICMP errors, without metadata: the
                # allocations counted below are ra's.
                stb = ethtool_stats(b, "rb")
                assert [v for k, v in stb.items() if k.startswith("tx_meta_")] == [0] * 6, stb
        # rveth allocates its counters once per end that sent marked
        # packets, plus one per CPU that lost the race (freed at once);
        # veth has no such counters.
        if kind == "rveth":
            assert all(1 <= x <= len(cpus) for x in allocs), allocs
            print(f"rveth per-CPU allocations while sending, per pair: {allocs}")
        else:
            assert allocs == [0, 0, 0], allocs
