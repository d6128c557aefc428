# SPDX-License-Identifier: GPL-2.0
"""Queues and channels: `numtxqueues`/`numrxqueues` at creation, `ethtool
-l/-L`, its refusals, and traffic after a change; veth is the oracle.

veth gives a new device one queue per possible CPU (at most 4096) unless
the request names a count, and uses only the first until `ethtool -L`;
the counts of the request's own attributes decide for the peer as well
(veth_init_queues(peer, tb) in veth_newlink()). rveth does the same.
"""
import json
import re
import subprocess

import pytest

from conftest import same_as_veth
from util import Capture, ip_plugin, make_pair, run, send_frames, sync_link, wait_until


def possible_cpus():
    """veth's default queue count: possible CPUs (not possible_cpus())."""
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


KEYS = {(s, k) for s in ("max", "cur") for k in ("RX", "TX", "Other", "Combined")}


def ethtool_l(ns, dev):
    """`ethtool -l` as {("max"|"cur", "RX"|"TX"|"Other"|"Combined"): value};
    fails unless all eight values were read."""
    out = run(f"ip netns exec {ns} ethtool -l {dev}" if ns else f"ethtool -l {dev}")
    res, section = {}, None
    for line in out.splitlines():
        if line.startswith("Pre-set maximums"):
            section = "max"
        elif line.startswith("Current hardware settings"):
            section = "cur"
        elif section and ":" in line:
            k, v = (x.strip() for x in line.split(":", 1))
            res[(section, k)] = v
    assert set(res) == KEYS, f"ethtool -l {dev}: unexpected output {out!r}"
    return res


def queues(ns, dev):
    j = json.loads(run(f"ip {'-n ' + ns + ' ' if ns else ''}-d -j link show dev {dev}"))[0]
    # IFLA_NUM_RX_QUEUES is only filled with CONFIG_RPS (the project
    # kernel has none): the allocated receive count is ethtool -l's max.
    l = ethtool_l(ns, dev)
    return j["num_tx_queues"], j.get("num_rx_queues", int(l[("max", "RX")])), l


def sysfs_tx_queues(ns, dev):
    """The transmit queues the core has in use, as the count of
    /sys/class/net/DEV/queues/tx-N (net-sysfs adds and removes them with
    real_num_tx_queues): what ethtool -l reports is only what the driver's
    get_channels says. (Without CONFIG_RPS there are no rx-N entries, for
    veth as for rveth; the receive count is checked by its effect, in
    test_queue_steering_like_veth.)"""
    names = run(f"ip netns exec {ns} ls /sys/class/net/{dev}/queues").split()
    return str(sum(n.startswith("tx-") for n in names))


def ethtool_L(ns, dev, args):
    p = subprocess.run(f"ip netns exec {ns} ethtool -L {dev} {args}", shell=True,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr.strip()


CREATE = {
    "default": ("", ""),
    "dev_both": ("numtxqueues 4 numrxqueues 3", ""),
    "peer_both": ("", "numtxqueues 4 numrxqueues 3"),
    "dev_tx_peer_rx": ("numtxqueues 2", "numrxqueues 5"),
    "both_sides": ("numtxqueues 3 numrxqueues 2", "numtxqueues 5 numrxqueues 6"),
}


def created(kind, dev_args, peer_args, netns):
    t = netns.new("q")
    ip_plugin(f"-n {t} link add name qa {dev_args} type {kind} peer name qb {peer_args}")
    try:
        return queues(t, "qa"), queues(t, "qb")
    finally:
        run(f"ip -n {t} link del dev qa")


@pytest.mark.parametrize("case", sorted(CREATE))
def test_queues_at_creation_like_veth(rveth, netns, case):
    from conftest import load_veth
    load_veth()
    dev_args, peer_args = CREATE[case]
    v = created("veth", dev_args, peer_args, netns)
    r = created("rveth", dev_args, peer_args, netns)
    same_as_veth(f"queues at creation ({case}): (num_tx, num_rx, ethtool -l) of both ends", r, v)
    ncpu = possible_cpus()
    if case == "default":
        # One queue per possible CPU allocated, one in use.
        (tx, rx, l), _ = r
        assert (tx, rx) == (ncpu, ncpu)
        assert l[("max", "RX")] == l[("max", "TX")] == str(ncpu)
        assert l[("cur", "RX")] == l[("cur", "TX")] == "1"
    if case == "dev_both":
        (tx, rx, l), (ptx, prx, pl) = r
        assert (tx, rx, l[("cur", "TX")], l[("cur", "RX")]) == (4, 3, "4", "3")
        # The peer gets the default allocation and, because the request's
        # own attributes named counts, uses all of it (veth's rule).
        assert (ptx, prx, pl[("cur", "TX")]) == (ncpu, ncpu, str(ncpu))


@pytest.fixture
def pair(kind, netns):
    a, b = netns.new("ca"), netns.new("cb")
    make_pair(kind, a, b, ipv6=False)
    return kind, a, b


def test_channels_set_and_refused_like_veth(pair):
    """Every step on both kinds (the `kind` parametrization) with the same
    assertions: refusals leave the counts alone, changes apply while up
    and while down. The five refused requests never reach the driver: the
    ethtool core refuses them (ethnl_set_channels(): above the maximum
    the driver reports, or no rx or no tx channel), so what they test of
    rveth is the maximum its get_channels reports. The driver's own
    refusal (a program on the peer) is test_58's
    test_channels_with_program_like_veth."""
    kind, a, b = pair
    ncpu = possible_cpus()
    assert ncpu >= 2, "needs 2 possible CPUs (the VM has 2)"
    base = ethtool_l(a, "ra")
    assert base[("cur", "RX")] == base[("cur", "TX")] == "1"
    assert sysfs_tx_queues(a, "ra") == "1"
    # Refusals: combined channels (none exist), above the maximum, zero.
    for args in ("combined 1", f"rx {ncpu + 1}", f"tx {ncpu + 1}", "rx 0", "tx 0"):
        rc, err = ethtool_L(a, "ra", args)
        assert rc != 0, f"{kind}: ethtool -L ra {args} accepted"
        assert ethtool_l(a, "ra") == base, f"{kind}: counts changed by refused {args}"
    # A change while up, and one while down that survives the next up; the
    # other end keeps its counts.
    peer_before = ethtool_l(b, "rb")
    assert ethtool_L(a, "ra", "rx 2 tx 2")[0] == 0
    l = ethtool_l(a, "ra")
    assert (l[("cur", "RX")], l[("cur", "TX")]) == ("2", "2")
    assert sysfs_tx_queues(a, "ra") == "2", "the core's transmit queue count follows"
    run(f"ip -n {a} link set dev ra down")
    assert ethtool_L(a, "ra", "rx 1")[0] == 0
    run(f"ip -n {a} link set dev ra up")
    l = ethtool_l(a, "ra")
    assert (l[("cur", "RX")], l[("cur", "TX")]) == ("1", "2")
    assert sysfs_tx_queues(a, "ra") == "2", "the core's transmit queue count follows"
    assert ethtool_l(b, "rb") == peer_before


def test_channels_refusal_messages_like_veth(rveth, netns):
    """The refusals' exit status and message are veth's. As in the test
    above, the ethtool core makes them from the maximum the driver
    reports; the messages are the core's."""
    from conftest import load_veth
    load_veth()
    ncpu = possible_cpus()
    res = {}
    for kind in ("veth", "rveth"):
        a, b = netns.new("ma"), netns.new("mb")
        make_pair(kind, a, b, ipv6=False)
        # The positive control first: a valid request succeeds.
        assert ethtool_L(a, "ra", "rx 2 tx 2")[0] == 0, kind
        assert ethtool_L(a, "ra", "rx 1 tx 1")[0] == 0, kind
        res[kind] = [ethtool_L(a, "ra", args) for args in
                     ("combined 1", f"rx {ncpu + 1}", f"tx {ncpu + 1}", "rx 0", "tx 0 rx 0")]
        run(f"ip -n {a} link del dev ra")
    same_as_veth("ethtool -L refusals: exit status and message", res["rveth"], res["veth"])
    # Each refused (the text depends on whether ethtool uses netlink or
    # the ioctl; it is the same as veth's, compared above).
    assert all(rc != 0 and err for rc, err in res["rveth"]), res["rveth"]


def test_traffic_after_channel_changes(pair):
    """Frames cross after the queue counts changed on both ends, counted
    where they arrive."""
    kind, a, b = pair
    assert possible_cpus() >= 2, "needs 2 possible CPUs (the VM has 2)"
    assert ethtool_L(a, "ra", "rx 2 tx 2")[0] == 0
    assert ethtool_L(b, "rb", "rx 1 tx 2")[0] == 0
    for ns, dev, peer_ns, peer_dev in ((a, "ra", b, "rb"), (b, "rb", a, "ra")):
        wait_until(lambda: carrier(ns, dev), 30, what=f"{dev} carrier")
        # The carrier came back after the change: until the link-watch work
        # ran, the qdisc is still noop and drops what is sent.
        sync_link(ns, dev)
        with Capture(peer_ns, peer_dev) as cap:
            n = 300
            assert send_frames(ns, dev, n, size=120) == n
            got = cap.wait_for(lambda f: f[1] == "02:00:00:00:00:01" and f[2] == 120, n)
            assert len(got) == n, f"{kind} {dev}: {len(got)} of {n} frames arrived"


def carrier(ns, dev):
    """The carrier bit itself (sysfs), not the operstate that lags it."""
    return run(f"ip netns exec {ns} cat /sys/class/net/{dev}/carrier").strip() == "1"


def test_channels_with_peer_down(rveth, netns):
    """Deliberate difference. veth_set_channels() turns the carrier of both
    ends on whenever the changed end is up, even if the peer is down: veth
    then shows LOWER_UP on an end whose peer drops everything. rveth
    restores the carrier only when both ends are up, as ndo_open does.
    On both kinds the change itself applies, and once rb is up again ra's
    carrier is on."""
    from conftest import load_veth
    load_veth()
    assert possible_cpus() >= 2, "needs 2 possible CPUs (the VM has 2)"
    got = {}
    for kind in ("veth", "rveth"):
        a, b = netns.new("pa"), netns.new("pb")
        make_pair(kind, a, b, ipv6=False)
        run(f"ip -n {b} link set dev rb down")
        before = carrier(a, "ra")
        assert ethtool_L(a, "ra", "rx 2")[0] == 0
        got[kind] = (before, carrier(a, "ra"))
        assert ethtool_l(a, "ra")[("cur", "RX")] == "2", kind
        run(f"ip -n {b} link set dev rb up")
        wait_until(lambda: carrier(a, "ra") and carrier(b, "rb"), 30, what=f"{kind}: carrier with both up")
    assert got["veth"] == (False, True), f"veth changed: {got['veth']}"
    assert got["rveth"] == (False, False), got["rveth"]


def steered(kind, netns):
    """ra's egress puts every skb on transmit queue 1 (tc skbedit), GRO is
    on at rb and TSO off at ra (so every skb may go to a NAPI queue), and
    50 UDP datagrams cross per step: with rb at two receive queues, at
    one, at two again, then steered to queue 0. Per step, what rb's socket
    got intact and what each of rb's NAPI queues took (ethtool -S shows
    the queues in use)."""
    from util import UdpSink, ethtool_stats, permanent_neighbours, ping_ok, udp_send
    a, b = netns.new("sa"), netns.new("sb")
    make_pair(kind, a, b, ipv6=False)
    run(f"ip netns exec {a} ethtool -K ra tso off")
    run(f"ip netns exec {b} ethtool -K rb gro on")
    assert ethtool_L(a, "ra", "tx 2")[0] == 0
    assert ethtool_L(b, "rb", "rx 2")[0] == 0
    for ns, dev in ((a, "ra"), (b, "rb")):
        wait_until(lambda: carrier(ns, dev), 30, what=f"{dev} carrier")
        sync_link(ns, dev)
    ping_ok(a, "10.9.0.2")
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    run(f"ip netns exec {a} tc qdisc add dev ra clsact")
    run(f"ip netns exec {a} tc filter add dev ra egress prio 1 handle 1 basic action skbedit queue_mapping 1")

    def per_queue():
        return {int(m[1]): v for k, v in ethtool_stats(b, "rb").items()
                if (m := re.fullmatch(r"rx_queue_(\d+)_xdp_packets", k))}

    steps = []
    for i, (rx, txq) in enumerate(((2, 1), (1, 1), (2, 1), (2, 0))):
        if ethtool_l(b, "rb")[("cur", "RX")] != str(rx):
            assert ethtool_L(b, "rb", f"rx {rx}")[0] == 0
            # The change flaps both ends' carrier (veth_set_channels()).
            for ns, dev in ((a, "ra"), (b, "rb")):
                wait_until(lambda: carrier(ns, dev), 30, what=f"{dev} carrier")
                sync_link(ns, dev)
        if txq == 0:
            run(f"ip netns exec {a} tc filter replace dev ra egress prio 1 handle 1 basic "
                "action skbedit queue_mapping 0")
        before = per_queue()
        sink = UdpSink(b, "10.9.0.2", 9990 + i, 50)
        udp_send(a, "10.9.0.2", 9990 + i, 50, reps=100)
        got = sink.result()
        after = per_queue()
        steps.append((f"rb rx {rx}, ra txq {txq}", got, {q: after[q] - before.get(q, 0) for q in sorted(after)}))
    run(f"ip -n {a} link del dev ra")
    return steps


def test_queue_steering_like_veth(rveth, netns):
    """The receive queue a packet takes is the number of the transmit
    queue the sender used, as with veth (veth_xmit(): rq[queue_mapping]
    if rb has that queue in use, else the backlog): checked per queue with
    the receiver's NAPI counters and socket, both kinds, across channel
    changes. Without this the counts ethtool -l reports could be numbers
    the data path ignores."""
    from conftest import load_veth
    load_veth()
    res = {kind: steered(kind, netns) for kind in ("veth", "rveth")}
    print(res)
    same_as_veth("receive queue taken per transmit queue, across rb's channel changes", res["rveth"], res["veth"])
    assert res["rveth"] == [
        ("rb rx 2, ra txq 1", (50, 0, 0), {0: 0, 1: 50}),
        # Queue 1 is not in use at rb: the backlog, no NAPI queue.
        ("rb rx 1, ra txq 1", (50, 0, 0), {0: 0}),
        ("rb rx 2, ra txq 1", (50, 0, 0), {0: 0, 1: 50}),
        ("rb rx 2, ra txq 0", (50, 0, 0), {0: 50, 1: 0}),
    ], res["rveth"]
