# SPDX-License-Identifier: GPL-2.0
"""Traffic through a pair across two namespaces, and exact counts.

Every test runs on veth and on rveth (the `kind` fixture) with the same
commands and the same assertions: the in-tree veth is the oracle.

Delivery is counted where it happens: by the receiving socket, by a
capture on the receiving device, by the receiving namespace's SNMP counters
(nstat) and by the counters the core keeps on the receiving device
(rx_dropped when it refuses a frame, rx_otherhost_dropped when its IP layer
drops a frame for another host). An end's rx packets/bytes are no evidence
of delivery: veth and rveth both compute them from the peer's tx counters.
"""
import json
import re

import pytest

from conftest import load_veth, same_as_veth
from util import (MarkedCapture, UdpSink, describe, make_pair, nstat, permanent_neighbours, run,
                  send_marked, stats64, sync_link, tcp_transfer, udp_send, wait_equal)


def pair(kind, netns, **kw):
    """A pair of `kind`, ra in a new namespace a, rb in b, both up and
    their link-watch work done (both qdiscs active)."""
    a, b = netns.new("ta"), netns.new("tb")
    make_pair(kind, a, b, **kw)
    if kw.get("up", True):
        sync_link(a, "ra")
        sync_link(b, "rb")
    return a, b


def ping(ns, dst, count=3):
    """`ping -c count` with a deadline instead of a per-reply timeout: ping
    keeps sending until `count` replies came or 60 s passed (under TCG and
    KASAN one reply may take seconds). Returns (transmitted, received)."""
    out = run(f"ip netns exec {ns} ping -n -c {count} -i 0.2 -w 60 {dst}", check=False)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, f"no ping summary: {out}"
    return int(m[1]), int(m[2])


def grew(ns, before, key):
    """How much nstat counter `key` of `ns` grew since `before`."""
    return lambda: nstat(ns)[key] - before[key]


# family -> (address of end a, address of end b, echo requests received,
# echo replies received)
FAMILY = {"ipv4": ("10.9.0.1", "10.9.0.2", "IcmpInEchos", "IcmpInEchoReps"),
          "ipv6": ("fd00::1", "fd00::2", "Icmp6InEchos", "Icmp6InEchoReplies")}


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_ping_both_ways(kind, netns, family):
    """Echo requests are counted by the ICMP layer of the namespace they
    were sent to, every one of them, and every reply back at the sender."""
    a, b = pair(kind, netns)
    ip_a, ip_b, in_echos, in_replies = FAMILY[family]
    for src, dst, addr in ((a, b, ip_b), (b, a, ip_a)):
        n_src, n_dst = nstat(src), nstat(dst)
        sent, received = ping(src, addr)
        # ping stops once 3 replies came; more may come with them when the
        # first requests waited for neighbour resolution.
        assert received >= 3, f"{src} -> {addr}: {sent} sent, {received} replies"
        wait_equal(grew(dst, n_dst, in_echos), sent, what=f"echo requests counted in {dst}")
        wait_equal(grew(src, n_src, in_replies), sent, what=f"echo replies counted in {src}")


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_tcp_checksum(kind, netns, family):
    """A 4 MiB TCP stream arrives whole: the receiving socket counts the
    bytes and hashes them, the sender hashes what it sent."""
    a, b = pair(kind, netns)
    nbytes = 4 << 20
    ip_a, ip_b = FAMILY[family][:2]
    # Server in b, client in a for IPv4; the other way round for IPv6.
    srv_ns, cli_ns, addr = (b, a, ip_b) if family == "ipv4" else (a, b, ip_a)
    cli, srv = tcp_transfer(srv_ns, cli_ns, addr, nbytes, port=5201)
    assert int(srv[0]) == nbytes, f"receiver got {srv[0]} of {nbytes} bytes"
    assert int(cli[0]) == nbytes
    assert srv[1] == cli[1], "sha256 of received data differs from sent data"


def test_udp_datagrams_intact(kind, netns):
    """200 datagrams of 8 to 1200 bytes: the receiving socket gets each one
    once and intact, and the receiver's UDP layer counts exactly 200. The
    socket's buffer is forced to 8 MiB (SO_RCVBUFFORCE), so no datagram can
    be dropped for want of room: a loss is a loss on the way."""
    a, b = pair(kind, netns)
    # Neighbours resolved beforehand: datagrams sent while ARP is pending
    # wait in a queue of bounded size (unres_qlen_bytes), which 200 can
    # overflow if the ARP reply is late (softirq deferred under TCG).
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb")])
    n = 200
    before = nstat(b)
    sink = UdpSink(b, "10.9.0.2", 7000, n)
    udp_send(a, "10.9.0.2", 7000, n)
    got, bad, dup = sink.result()
    assert (got, bad, dup) == (n, 0, 0), f"{got} intact, {bad} corrupt, {dup} duplicate of {n}"
    after = nstat(b)
    assert after["UdpInDatagrams"] - before["UdpInDatagrams"] == n
    assert after["UdpRcvbufErrors"] == before["UdpRcvbufErrors"]
    assert after["UdpInErrors"] == before["UdpInErrors"]


def test_counters_exact(kind, netns):
    """1000 frames of 200 bytes from ra: a capture on rb sees exactly those
    1000 (by marker and sequence number) and nothing else; rb's IP layer
    drops each one as addressed to another host (the core's
    rx_otherhost_dropped of rb grows by 1000); ra counts 1000 packets and
    200000 bytes sent, none dropped; rb sent nothing."""
    # No IPv6 and no IP traffic: only the frames this test sends cross.
    a, b = pair(kind, netns, ipv6=False)
    n, size = 1000, 200
    with MarkedCapture(b, "rb") as cap:
        sa0, sb0 = stats64(a, "ra"), stats64(b, "rb")
        ok, marker = send_marked(a, "ra", n, size)
        assert ok == n
        frames = cap.wait_marked(marker, n)
        assert cap.seqs(marker) == list(range(n)), "frames lost or duplicated on the way"
        assert {f[2] for f in frames} == {size}
        wait_equal(lambda: stats64(b, "rb")["rx_otherhost_dropped"] - sb0["rx_otherhost_dropped"], n,
                   what="frames rb's IP layer dropped as for another host")
        sa, sb = stats64(a, "ra"), stats64(b, "rb")
        strays = cap.others(marker)
    assert not strays, f"frames other than the test's crossed: {[describe(f) for f in strays]}"
    assert sa["tx_packets"] - sa0["tx_packets"] == n
    assert sa["tx_bytes"] - sa0["tx_bytes"] == n * size
    assert sa["tx_dropped"] == sa0["tx_dropped"]
    assert sb["rx_dropped"] == sb0["rx_dropped"]
    # The other direction is untouched.
    assert sb["tx_packets"] == sb0["tx_packets"]


def test_drops_when_peer_down(kind, netns):
    """With rb down, ra has no carrier and the core no longer hands it
    frames: its link-watch work swapped ra's qdisc for the noop qdisc, which
    drops them, counts them in ra's (core) tx_dropped and reports
    congestion, not an error (send() succeeds). So of 50 frames sent from ra
    nothing reaches rb's namespace (a capture on all its devices sees none),
    ra counts 50 drops and no packet sent, and rb counts no rx drop (the
    driver never saw them). Once rb is up again, 50 more arrive: the
    capture would have seen them."""
    a, b = pair(kind, netns, ipv6=False)
    run(f"ip -n {b} link set dev rb down")
    # ra's carrier went off in the driver's stop(); its link-watch work
    # (qdisc to noop) is made to run now, not at some later point.
    sync_link(a, "ra")
    n = 50
    with MarkedCapture(b, None) as cap:
        sa0, sb0 = stats64(a, "ra"), stats64(b, "rb")
        ok, marker = send_marked(a, "ra", n)
        sa, sb = stats64(a, "ra"), stats64(b, "rb")
        assert ok == n, f"{ok} of {n} sends succeeded toward a down peer"
        assert sa["tx_dropped"] - sa0["tx_dropped"] == n
        assert sa["tx_packets"] == sa0["tx_packets"]
        assert sb["rx_dropped"] == sb0["rx_dropped"]
        assert sb["rx_otherhost_dropped"] == sb0["rx_otherhost_dropped"]

        run(f"ip -n {b} link set dev rb up")
        sync_link(a, "ra")
        assert "NO-CARRIER" not in run(f"ip -n {a} link show dev ra")
        ok2, marker2 = send_marked(a, "ra", n)
        assert ok2 == n
        cap.wait_marked(marker2, n)
        assert cap.marked(marker) == [], "frames sent while rb was down arrived"


def test_drops_on_mtu_overflow(kind, netns):
    """rb's MTU is 1000, ra's 1500: of 20 frames of 1400 bytes and 20 of 900
    sent from ra, a capture on rb sees exactly the 20 of 900; the 1400-byte
    sends fail (ENOBUFS), ra counts 20 tx drops and 20 packets sent, the core
    counts 20 rx drops on rb (too big for it), and rb's IP layer sees the 20
    small ones (rx_otherhost_dropped)."""
    a, b = pair(kind, netns, ipv6=False)
    run(f"ip -n {b} link set dev rb mtu 1000")
    n = 20
    with MarkedCapture(b, "rb") as cap:
        sa0, sb0 = stats64(a, "ra"), stats64(b, "rb")
        ok_big, big = send_marked(a, "ra", n, size=1400)    # fits ra's MTU, not rb's
        ok_small, small = send_marked(a, "ra", n, size=900)  # fits both
        assert (ok_big, ok_small) == (0, n)
        frames = cap.wait_marked(small, n)
        assert cap.seqs(small) == list(range(n)) and {f[2] for f in frames} == {900}
        wait_equal(lambda: stats64(b, "rb")["rx_otherhost_dropped"] - sb0["rx_otherhost_dropped"], n,
                   what="small frames that reached rb's IP layer")
        sa, sb = stats64(a, "ra"), stats64(b, "rb")
        assert cap.marked(big) == [], "frames bigger than rb's MTU arrived"
        strays = cap.others(big, small)
    assert not strays, [describe(f) for f in strays]
    assert sa["tx_dropped"] - sa0["tx_dropped"] == n
    assert sb["rx_dropped"] - sb0["rx_dropped"] == n
    assert sa["tx_packets"] - sa0["tx_packets"] == n


def carrier_table(kind, netns):
    """(admin a, admin b) -> (operstate a, operstate b, carrier a, carrier b)."""
    a, b = netns.new("ca"), netns.new("cb")
    make_pair(kind, a, b, up=False, ipv6=False)
    table = {}
    for ua in (False, True):
        for ub in (False, True):
            run(f"ip -n {a} link set dev ra {'up' if ua else 'down'}")
            run(f"ip -n {b} link set dev rb {'up' if ub else 'down'}")
            ja = json.loads(run(f"ip -n {a} -j link show dev ra"))[0]
            jb = json.loads(run(f"ip -n {b} -j link show dev rb"))[0]
            table[(ua, ub)] = (ja["operstate"], jb["operstate"],
                               "NO-CARRIER" in ja["flags"], "NO-CARRIER" in jb["flags"])
    return table


def test_carrier_and_operstate_match_veth(rveth, netns):
    load_veth()
    r = carrier_table("rveth", netns)
    v = carrier_table("veth", netns)
    same_as_veth("carrier and operstate for each admin state", r, v)
    assert r[(True, True)] == ("UP", "UP", False, False)
    # One end down: the other end is up without carrier (operstate DOWN or
    # LOWERLAYERDOWN depending on whether the ifindexes collide across
    # namespaces; veth behaves the same, checked above).
    assert r[(True, False)][2] and r[(True, False)][0] in ("DOWN", "LOWERLAYERDOWN")
    assert r[(False, True)][3] and r[(False, True)][1] in ("DOWN", "LOWERLAYERDOWN")
