# SPDX-License-Identifier: GPL-2.0
"""The data path beyond one plain pair: GSO passthrough, queues, VLANs, a
bridge, jumbo frames and checksum offload off.

Every test runs on veth and on rveth (the `kind` fixture) with the same
commands and the same assertions; the expected numbers are the ones the
in-tree veth gives (the oracle). Delivery is counted at the receiver: its
sockets, a capture on the receiving device, its namespace's SNMP counters.
"""
import json
import subprocess
import sys

import pytest

from util import (MarkedCapture, UdpSink, describe, make_pair, nstat, permanent_neighbours, run,
                  sync_link, tcp_transfer, udp_dport, udp_send, wait_until)

import rtnl


def pair(kind, netns, **kw):
    """A pair of `kind`, ra in a new namespace a, rb in b, both up and
    their link-watch work done (both qdiscs active)."""
    a, b = netns.new("ta"), netns.new("tb")
    make_pair(kind, a, b, **kw)
    sync_link(a, "ra")
    sync_link(b, "rb")
    return a, b


def features(ns, dev):
    """`ethtool -k` of a device, as {feature: "on"/"off"}."""
    out = {}
    for line in run(f"ip netns exec {ns} ethtool -k {dev}").splitlines()[1:]:
        k, _, v = line.partition(":")
        if v.strip():
            out[k.strip()] = v.split()[0]
    return out


def udp_frames(cap, port):
    return [f for f in cap.read() if udp_dport(f) == port]


def wait_udp_frames(cap, port, n, timeout=60):
    return wait_until(lambda: (lambda fs: fs if len(fs) >= n else None)(udp_frames(cap, port)),
                      timeout, what=f"{n} UDP frames to port {port} on the capture")


GSO_SINK = r"""
import hashlib, socket, sys
addr, port, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.bind((addr, port)); s.settimeout(60)
print('ready', flush=True)
sizes, h = [], hashlib.sha256()
try:
    while len(sizes) < expect:
        d = s.recv(65535); sizes.append(len(d)); h.update(d)
except socket.timeout:
    pass
print(' '.join(map(str, sizes)), flush=True)
print(h.hexdigest(), flush=True)
"""

GSO_SEND = r"""
import hashlib, socket, sys
addr, port, size, gso = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, gso)  # UDP_SEGMENT
payload = bytes((i * 7 + i // 251) % 256 for i in range(size))
assert s.sendto(payload, (addr, port)) == size
print(hashlib.sha256(payload).hexdigest())
"""


@pytest.mark.parametrize("segmentation", ["on", "off"])
def test_udp_gso_passthrough(kind, netns, segmentation):
    """One 13,000-byte UDP send with UDP_SEGMENT 1,300. With
    tx-udp-segmentation on at the sender the GSO packet crosses the pair
    whole: the capture on rb sees one frame of 13,042 bytes and rb's IP
    layer counts one packet (IpInReceives + 1); the receiving socket still
    gets ten 1,300-byte datagrams (segmented at the socket, UdpInDatagrams
    + 10). With it off the sender segments: ten frames of 1,342 bytes, ten
    IP packets, the same ten datagrams. (veth: the same numbers.)"""
    a, b = pair(kind, netns, ipv6=False)
    size, gso, port = 13000, 1300, 7300
    segs = size // gso
    run(f"ip netns exec {a} ethtool -K ra tx-udp-segmentation {segmentation}")
    assert features(a, "ra")["tx-udp-segmentation"] == segmentation
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb")])
    sink = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", GSO_SINK, "10.9.0.2",
                             str(port), str(segs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    with MarkedCapture(b, "rb") as cap:
        before = nstat(b)
        sent = subprocess.run(["ip", "netns", "exec", a, sys.executable, "-c", GSO_SEND, "10.9.0.2",
                               str(port), str(size), str(gso)], capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stderr
        out, err = sink.communicate(timeout=120)
        assert sink.returncode == 0, err
        sizes, digest = out.splitlines()
        assert sizes.split() == [str(gso)] * segs, f"datagrams received: {sizes}"
        assert digest == sent.stdout.strip(), "payload differs"
        frames = wait_udp_frames(cap, port, 1 if segmentation == "on" else segs)
        after = nstat(b)
    wire = [f[2] for f in frames]
    if segmentation == "on":
        assert wire == [14 + 20 + 8 + size], f"frames on rb: {wire}"
        assert after["IpInReceives"] - before["IpInReceives"] == 1
    else:
        assert wire == [14 + 20 + 8 + gso] * segs, f"frames on rb: {wire}"
        assert after["IpInReceives"] - before["IpInReceives"] == segs
    assert after["UdpInDatagrams"] - before["UdpInDatagrams"] == segs


def possible_cpus():
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32


def queue_attrs(q):
    if q is None:
        return b""
    return rtnl.attr(IFLA_NUM_TX_QUEUES, q[0]) + rtnl.attr(IFLA_NUM_RX_QUEUES, q[1])


def queues(ns, dev):
    """(allocated tx, allocated rx, tx in use, rx in use) of a device, each
    read twice: `ip -d` and sysfs, `ethtool -l` maxima and current."""
    d = json.loads(run(f"ip -n {ns} -d -j link show dev {dev}"))[0]
    q = run(f"ip netns exec {ns} ls /sys/class/net/{dev}/queues").split()
    ch = {}
    section = None
    for line in run(f"ip netns exec {ns} ethtool -l {dev}").splitlines():
        if line.startswith("Pre-set maximums"):
            section = "max"
        elif line.startswith("Current hardware settings"):
            section = "cur"
        elif section and line.split(":")[0] in ("RX", "TX"):
            ch[(section, line.split(":")[0])] = line.split(":")[1].strip()
    # sysfs has a tx-N per transmit queue in use; rx-N only with RPS, which
    # the project kernel lacks: the receive count in use is ethtool's.
    in_use = (sum(x.startswith("tx-") for x in q), int(ch[("cur", "RX")]))
    assert str(in_use[0]) == ch[("cur", "TX")], (q, ch)
    # IFLA_NUM_RX_QUEUES is only sent with CONFIG_RPS (not in the project
    # kernel): then the allocated receive count is ethtool's maximum.
    alloc = (d["num_tx_queues"], d.get("num_rx_queues", int(ch[("max", "RX")])))
    assert (str(alloc[0]), str(alloc[1])) == (ch[("max", "TX")], ch[("max", "RX")]), (d, ch)
    return alloc + in_use


# case -> (numtxqueues, numrxqueues) asked for ra, for rb (None: not asked)
QUEUE_CASES = {"first-only": ((4, 3), None), "peer-only": (None, (3, 5)), "both": ((4, 2), (2, 5))}


def veth_queues(first, peer, cpus):
    """What veth_newlink() makes (drivers/net/veth.c): each end is allocated
    the queues its own attributes ask for, else one per possible CPU
    (veth_get_num_queues); then veth_init_queues() puts each end at one
    queue per direction in use unless the FIRST device's attributes gave
    that count -- for the peer too (it is called with `tb`, not the peer's
    attributes). So a count given for the peer only is allocated but not
    used, and a count given for the first device only makes the peer use
    all its per-CPU queues."""
    def end(alloc):
        tx = alloc[0] if first is not None else 1
        rx = alloc[1] if first is not None else 1
        return alloc + (tx, rx)
    return end(first or (cpus, cpus)), end(peer or (cpus, cpus))


@pytest.mark.parametrize("case", list(QUEUE_CASES))
def test_numqueues_at_creation(kind, netns, case):
    """numtxqueues/numrxqueues at creation, for the first device, the
    peer, or both: each end's allocated and used queues (ip -d, sysfs,
    ethtool -l) are veth's, and 50 datagrams still cross, counted by the
    receiving socket and its UDP layer."""
    first, peer = QUEUE_CASES[case]
    a, b = netns.new("ta"), netns.new("tb")
    with open(f"/run/netns/{b}") as f, rtnl.Rtnl(a) as r:
        peer_raw = rtnl.link_attrs(name="rb", netns_fd=f.fileno()) + queue_attrs(peer)
        r.newlink(queue_attrs(first) + rtnl.pair_msg(kind=kind, peer=peer_raw, name="ra"))
    for ns, dev, n in ((a, "ra", 1), (b, "rb", 2)):
        run(f"ip -n {ns} addr add 10.9.0.{n}/24 dev {dev}")
        run(f"ip -n {ns} link set dev {dev} up")
    sync_link(a, "ra")
    got = (queues(a, "ra"), queues(b, "rb"))
    want = veth_queues(first, peer, possible_cpus())
    assert got == want, f"(tx, rx allocated, tx, rx in use) of ra, rb: {got}, veth gives {want}"
    n = 50
    before = nstat(b)
    sink = UdpSink(b, "10.9.0.2", 7350, n)
    udp_send(a, "10.9.0.2", 7350, n)
    assert sink.result() == (n, 0, 0)
    assert nstat(b)["UdpInDatagrams"] - before["UdpInDatagrams"] == n


@pytest.mark.parametrize("txvlan", ["on", "off"])
def test_vlan_over_pair(kind, netns, txvlan):
    """VLAN 10 devices on both ends (ra.10, rb.10), tx VLAN offload of ra on
    or off (tag in the skb's metadata or in the frame): 50 datagrams to
    rb.10's address arrive at its socket intact; a capture on rb sees the
    50 frames tagged VLAN 10, a capture on rb.10 sees them untagged; the
    receiver's IP and UDP layers count 50."""
    a, b = pair(kind, netns, ipv6=False)
    for ns, dev, n in ((a, "ra", 1), (b, "rb", 2)):
        run(f"ip -n {ns} link add link {dev} name {dev}.10 type vlan id 10")
        run(f"ip netns exec {ns} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/{dev}.10/disable_ipv6'")
        run(f"ip -n {ns} addr add 10.10.0.{n}/24 dev {dev}.10")
        run(f"ip -n {ns} link set dev {dev}.10 up")
        sync_link(ns, f"{dev}.10")
    run(f"ip netns exec {a} ethtool -K ra txvlan {txvlan}")
    assert features(a, "ra")["tx-vlan-offload"] == txvlan
    permanent_neighbours([(a, "ra.10", "10.10.0.2", b, "rb.10")])
    n, port = 50, 7400
    with MarkedCapture(b, "rb") as low, MarkedCapture(b, "rb.10") as vdev:
        before = nstat(b)
        sink = UdpSink(b, "10.10.0.2", port, n)
        udp_send(a, "10.10.0.2", port, n)
        assert sink.result() == (n, 0, 0)
        on_low = wait_udp_frames(low, port, n)
        on_vlan = wait_udp_frames(vdev, port, n)
        after = nstat(b)
    assert len(on_low) == n and {f[4] for f in on_low} == {10}, [describe(f) for f in on_low[:3]]
    assert len(on_vlan) == n and {f[4] for f in on_vlan} == {None}, [describe(f) for f in on_vlan[:3]]
    assert after["IpInReceives"] - before["IpInReceives"] == n
    assert after["UdpInDatagrams"] - before["UdpInDatagrams"] == n


def test_bridge_three_pairs(kind, netns):
    """Three pairs, one end of each in a host namespace (10.12.0.1-3), the
    other enslaved to a bridge in a middle namespace. For each flow (1 to
    2, 2 to 3, 3 to 1) 30 datagrams arrive at the receiver's socket intact,
    its IP and UDP layers count 30, and the third host's IP layer counts
    none of them."""
    sw = netns.new("sw")
    hosts = [netns.new(f"h{i}") for i in (1, 2, 3)]
    run(f"ip -n {sw} link add br0 type bridge")
    run(f"ip -n {sw} link set dev br0 up")
    for i, h in enumerate(hosts, 1):
        with open(f"/run/netns/{sw}") as f:
            rtnl.create_pair("eth0", peer={"name": f"p{i}", "netns_fd": f.fileno()}, netns=h, kind=kind)
        run(f"ip netns exec {h} sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
        run(f"ip -n {h} addr add 10.12.0.{i}/24 dev eth0")
        run(f"ip -n {h} link set dev eth0 up")
        run(f"ip -n {sw} link set dev p{i} master br0 up")

    def forwarding():
        ports = json.loads(run(f"bridge -n {sw} -j link show"))
        return len(ports) == 3 and all(p.get("state") == "forwarding" for p in ports)
    wait_until(forwarding, 60, what="bridge ports forwarding")
    for i, h in enumerate(hosts, 1):
        sync_link(h, "eth0")
        sync_link(sw, f"p{i}")
    n = 30
    for s, d in ((0, 1), (1, 2), (2, 0)):
        third = 3 - s - d
        addr = f"10.12.0.{d + 1}"
        before, before3 = nstat(hosts[d]), nstat(hosts[third])
        sink = UdpSink(hosts[d], addr, 7500, n)
        udp_send(hosts[s], addr, 7500, n)
        assert sink.result() == (n, 0, 0), f"h{s + 1} -> h{d + 1}"
        after, after3 = nstat(hosts[d]), nstat(hosts[third])
        assert after["IpInReceives"] - before["IpInReceives"] == n, f"h{s + 1} -> h{d + 1}"
        assert after["UdpInDatagrams"] - before["UdpInDatagrams"] == n, f"h{s + 1} -> h{d + 1}"
        assert after3["IpInReceives"] == before3["IpInReceives"], f"h{third + 1} got h{s + 1} -> h{d + 1}"


@pytest.mark.parametrize("mtu,csum", [(9000, "on"), (1500, "off"), (9000, "off")],
                         ids=["jumbo", "csum-off", "jumbo-csum-off"])
def test_tcp_integrity(kind, netns, mtu, csum):
    """A 4 MiB TCP stream with MTU 9000 on both ends and/or checksum offload
    off on both ends (ethtool -K tx off rx off, which also turns TSO off):
    the receiver's SHA-256 equals the sender's and its TCP layer counts no
    checksum error. With checksum offload off every segment crosses on its
    own, checksummed in software: the receiver's IP layer counts at least
    one packet per MSS (MTU - 52) of data, and with MTU 9000 fewer than one
    per 1,448 bytes (jumbo segments crossed)."""
    a, b = pair(kind, netns, ipv6=False)
    for ns, dev in ((a, "ra"), (b, "rb")):
        run(f"ip -n {ns} link set dev {dev} mtu {mtu}")
        if csum == "off":
            run(f"ip netns exec {ns} ethtool -K {dev} tx off rx off")
        f = features(ns, dev)
        # Without checksum offload the core drops TSO (netdev_fix_features):
        # TCP's GSO packets are segmented and checksummed in software.
        assert (f["tx-checksumming"], f["rx-checksumming"], f["tx-tcp-segmentation"],
                f["tx-tcp6-segmentation"]) == (csum,) * 4, f
    nbytes = 4 << 20
    before = nstat(b)
    cli, srv = tcp_transfer(b, a, "10.9.0.2", nbytes, port=5203)
    after = nstat(b)
    assert int(srv[0]) == nbytes and int(cli[0]) == nbytes, (cli, srv)
    assert srv[1] == cli[1], "sha256 of received data differs from sent data"
    assert after["TcpInCsumErrors"] == before["TcpInCsumErrors"]
    if csum == "off":
        packets = after["IpInReceives"] - before["IpInReceives"]
        assert packets >= nbytes / (mtu - 52), f"{packets} packets for {nbytes} bytes at MTU {mtu}"
        if mtu == 9000:
            assert packets < nbytes / 1448, f"{packets} packets for {nbytes} bytes: no jumbo segments"
