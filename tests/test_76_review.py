# SPDX-License-Identifier: GPL-2.0
"""Regression tests for two review findings, with veth as the oracle.

1. TIME_WAIT ACKs (test_timewait_ack_*). The classid that rveth counts and
   carries is read from the socket an skb belongs to. The ACKs a TIME_WAIT
   socket sends (tcp_v4_timewait_ack()/tcp_v6_send_response() ->
   skb_set_owner_edemux()) belong to a struct inet_timewait_sock, which is
   much smaller than struct sock: the classid must not be read from it, so
   such an ACK must neither count in tx_meta_classid nor get a mark or a
   priority from the policy `classid mark|priority`. veth never touches
   either, so its ACKs arrive with mark 0 and priority 0 too.

   A pair joins namespaces A and B. A client in a net_cls cgroup
   (classid 1:10) in A opens N connections to a server in B and closes each
   one first, so A holds N TIME_WAIT sockets. Then B sends K out-of-window
   ACK segments to each of them (raw socket, hand-built TCP header);
   A answers every one with an ACK from the TIME_WAIT socket
   (net.ipv4.tcp_invalid_ratelimit=0 in A; net.ipv4.tcp_rfc1337=1 so that
   B's RST answering that ACK does not kill the TIME_WAIT socket). An
   AF_PACKET socket on B's end reads every frame with SO_RCVMARK and
   SO_RCVPRIORITY, i.e. with the skb->mark and skb->priority it arrived
   with.

   On the project's kernel (7.3) these tests pass with the driver as it
   is: rveth_skb_get_meta() uses skb_to_full_sk(), and sk_to_full_sk()
   returns NULL for a TIME_WAIT socket since v6.13 (78e2baf3d96e "net: add
   TIME_WAIT logic to sk_to_full_sk()", the first patch of the series that
   attached TIME_WAIT sockets to their ACKs and RSTs). They fail, all six
   rveth cases, on a driver that takes skb->sk as a full socket (the form
   sk_to_full_sk() had before): the classid then read past the
   inet_timewait_sock was non-zero for most ACKs, counted and carried.

2. The peer's attributes (test_peer_attributes_like_veth). veth gives the
   peer a random MAC unless the peer part gives one (`if (!ifmp ||
   !tbp[IFLA_ADDRESS]) eth_hw_addr_random(peer)` in veth_newlink()), and
   without a peer part creates the peer from the request's own attributes
   (mtu, txqueuelen, group, queues, gso/gro sizes...). rveth must end with
   the same attributes on both ends.
"""
import json
import random
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import load_rveth, load_veth, same_as_veth
from test_70_metadata import CLASSID, netcls  # noqa: F401 (fixture)
from util import ethtool_stats, ip_plugin, run

import rtnl

SO_RCVMARK = 75
SO_RCVPRIORITY = 82
SO_MARK = 36
SO_RCVBUFFORCE = 33
SO_PRIORITY = 12
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TCP_ACK, TCP_RST, TCP_SYN, TCP_FIN = 0x10, 0x04, 0x02, 0x01

N_CONN = 20      # TIME_WAIT sockets per test
K_SEG = 2        # out-of-window segments sent to each of them
PORT = 5376


def wait_for(cond, what, timeout=60.0, step=0.05):
    """Poll cond() until it returns a true value; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def load(kind):
    if kind == "veth":
        load_veth()
    else:
        load_rveth()


# --------------------------------------------------------------------------
# 1. ACKs sent by TIME_WAIT sockets
# --------------------------------------------------------------------------

SERVER = r"""
import socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(n)
print('ready', flush=True)
for _ in range(n):
    c, _ = s.accept()
    c.settimeout(120)
    while c.recv(4096):
        pass
    c.close()          # after the client's FIN: B is the passive closer
s.close()
print('done', flush=True)
"""

CLIENT = r"""
import socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    c = socket.create_connection((addr, port), timeout=120)
    c.sendall(b'x' * 100)
    c.close()          # the client closes first: its socket ends in TIME_WAIT
print('closed', flush=True)
"""


class Capture:
    """Every frame B's end receives, with the skb->mark and skb->priority
    it arrived with (SO_RCVMARK/SO_RCVPRIORITY cmsgs on an AF_PACKET
    socket; taps run before anything in B could change them)."""

    def __init__(self, ns, dev):
        with rtnl.in_netns(ns):
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVMARK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVPRIORITY, 1)
        self.s.bind((dev, ETH_P_ALL))
        self.s.setblocking(False)

    def close(self):
        self.s.close()

    def drain(self):
        """TCP segments received (not sent) since the last call:
        [(src, sport, dst, dport, flags, mark, priority)]."""
        out = []
        while True:
            try:
                data, anc, _, addr = self.s.recvmsg(65536, 2 * socket.CMSG_SPACE(4))
            except BlockingIOError:
                return out
            if addr[2] == PACKET_OUTGOING:
                continue
            meta = {t: struct.unpack("=I", d[:4])[0] for lvl, t, d in anc if lvl == socket.SOL_SOCKET}
            assert SO_MARK in meta and SO_PRIORITY in meta, anc
            seg = parse_tcp(data)
            if seg:
                out.append(seg + (meta[SO_MARK], meta[SO_PRIORITY]))


def parse_tcp(frame):
    """(src, sport, dst, dport, flags) of an Ethernet frame holding TCP over
    IPv4 or IPv6 (no extension headers), else None."""
    (etype,) = struct.unpack_from("!H", frame, 12)
    ip = frame[14:]
    if etype == 0x0800 and ip[9] == socket.IPPROTO_TCP:
        src = socket.inet_ntop(socket.AF_INET, ip[12:16])
        dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
        tcp = ip[(ip[0] & 0xF) * 4:]
    elif etype == 0x86DD and ip[6] == socket.IPPROTO_TCP:
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        tcp = ip[40:]
    else:
        return None
    sport, dport = struct.unpack_from("!HH", tcp, 0)
    return (src, sport, dst, dport, tcp[13])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_segment(src, dst, sport, dport, seq, ack, flags=TCP_ACK):
    """A TCP header (no options, no payload) with a correct checksum,
    pseudo-header included."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 8192, 0, 0)
    if ":" in src:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                  + struct.pack("!I3xB", len(hdr), socket.IPPROTO_TCP))
    else:
        pseudo = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
                  + struct.pack("!xBH", socket.IPPROTO_TCP, len(hdr)))
    return hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]


def ss_tuples(ns, state, port):
    """{(local addr, local port, peer addr, peer port)} of TCP sockets in `state`
    in namespace ns whose peer port is `port`."""
    out = run(f"ip netns exec {ns} ss -tanH state {state} '( dport = :{port} )'")
    tuples = set()
    for line in out.splitlines():
        f = line.split()
        local, peer = f[-2], f[-1]
        la, lp = local.rsplit(":", 1)
        pa, pp = peer.rsplit(":", 1)
        tuples.add((la.strip("[]").split("%")[0], int(lp), pa.strip("[]").split("%")[0], int(pp)))
    return tuples


def tw_pair(netns, kind, policy):
    """Namespaces A and B joined by a pair of `kind` (end a0 in A, b0 in B),
    10.76.0.1/24 + fd76::1/64 in A, .2/::2 in B, both ends up."""
    load(kind)
    a, b = netns.new("A"), netns.new("B")
    ip_plugin(f"-n {a} link add name a0 type {kind} {policy} peer name b0 netns {b}")
    for ns, dev, n in ((a, "a0", 1), (b, "b0", 2)):
        run(f"ip -n {ns} addr add 10.76.0.{n}/24 dev {dev}")
        run(f"ip -n {ns} addr add fd76::{n}/64 dev {dev} nodad")
        run(f"ip -n {ns} link set dev {dev} up")
    for ns in (a, b):
        wait_for(lambda ns=ns: run(f"ip -n {ns} -6 addr show tentative") == ""
                 and "LOWER_UP" in run(f"ip -n {ns} link show"), f"{ns}: link up, no tentative address")
    # Every out-of-window segment gets an answer (no 500 ms rate limit), and
    # B's RST answering that answer does not kill the TIME_WAIT socket.
    run(f"ip netns exec {a} sysctl -qw net.ipv4.tcp_invalid_ratelimit=0 net.ipv4.tcp_rfc1337=1")
    return a, b


def connect_and_close(a, b, cgroup, srv_addr, n):
    """n connections from A (client, active closer, in net_cls cgroup) to B."""
    srv = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", SERVER, srv_addr, str(PORT), str(n)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready", srv.stderr.read()
        cmd = (f"echo $$ > {cgroup}/cgroup.procs && exec ip netns exec {a} "
               f"{sys.executable} -c \"{CLIENT}\" {srv_addr} {PORT} {n}")
        cli = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=300)
        assert cli.returncode == 0 and "closed" in cli.stdout, cli.stderr
        out, err = srv.communicate(timeout=300)
        assert "done" in out, err
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


# veth has no policy; rveth's policies decide what a classid becomes.
TW_CASES = [("veth", ""), ("rveth", ""), ("rveth", "classid mark"), ("rveth", "classid priority")]


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("kind,policy", TW_CASES, ids=["veth", "rveth", "rveth-classid-mark", "rveth-classid-priority"])
def test_timewait_ack_has_no_classid(netns, netcls, kind, policy, family):
    a, b = tw_pair(netns, kind, policy)
    cli_addr, srv_addr = ("10.76.0.1", "10.76.0.2") if family == "ipv4" else ("fd76::1", "fd76::2")
    cap = Capture(b, "b0")
    try:
        # Phase 1: full sockets with classid 1:10; A ends with N TIME_WAIT sockets.
        connect_and_close(a, b, netcls, srv_addr, N_CONN)
        tw = wait_for(lambda: (lambda t: t if len(t) == N_CONN else None)(ss_tuples(a, "time-wait", PORT)),
                      f"{N_CONN} TIME_WAIT sockets in A")
        assert all(t[0] == cli_addr and t[2] == srv_addr for t in tw), tw
        # B's ends are gone (LAST_ACK answered) before anything is sent to A.
        wait_for(lambda: run(f"ip netns exec {b} ss -tanH '( sport = :{PORT} )'") == "",
                 "B's sockets of the closed connections to disappear")

        phase1 = [p for p in cap.drain() if p[0] == cli_addr]
        assert len(phase1) >= 3 * N_CONN, phase1    # SYN, ACK, data, FIN... per connection
        marks = [p[5] for p in phase1]
        prios = [p[6] for p in phase1]
        # The capture sees what the policy carried: proves the mark/priority
        # checks below can see a non-zero value. (The final ACK of each
        # close may already come from the TIME_WAIT socket: without classid.)
        if policy == "classid mark":
            assert marks.count(CLASSID) >= N_CONN and set(marks) <= {0, CLASSID}, marks
        else:
            assert set(marks) == {0}, marks
        if policy == "classid priority":
            assert prios.count(CLASSID) >= N_CONN and set(prios) <= {0, CLASSID}, prios
        else:
            assert set(prios) == {0}, prios

        if kind == "rveth":
            st1 = ethtool_stats(a, "a0")
            # Full sockets in the cgroup were counted with their classid.
            assert st1["tx_meta_classid"] >= N_CONN, st1
            carried = st1["tx_meta_classid"] if policy else 0
            assert st1["tx_meta_classid_carried"] == carried, st1

        # Phase 2: out-of-window ACK segments from B to every TIME_WAIT socket.
        with rtnl.in_netns(b):
            raw = socket.socket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET,
                                socket.SOCK_RAW, socket.IPPROTO_TCP)
        try:
            raw.bind((srv_addr, 0))
            rnd = random.Random(76)
            for (la, lp, pa, pp) in sorted(tw):
                for _ in range(K_SEG):
                    seg = tcp_segment(pa, la, pp, lp, rnd.getrandbits(32), rnd.getrandbits(32))
                    raw.sendto(seg, (la, 0))
        finally:
            raw.close()

        acks = {}

        def all_answered():
            for p in cap.drain():
                src, sport, dst, dport, flags, mark, prio = p
                if src == cli_addr and dport == PORT and (sport, dport) in {(t[1], t[3]) for t in tw}:
                    acks.setdefault(sport, []).append((flags, mark, prio))
            return all(len(acks.get(t[1], [])) >= K_SEG for t in tw)

        wait_for(all_answered, f"{K_SEG} ACKs from each of the {N_CONN} TIME_WAIT sockets", timeout=120)
        answers = [x for v in acks.values() for x in v]
        print(f"{len(phase1)} segments from A in phase 1, {len(answers)} TIME_WAIT ACKs "
              f"for {N_CONN * K_SEG} segments sent")
        # Every TIME_WAIT socket answered every segment with a bare ACK...
        assert len(answers) >= N_CONN * K_SEG
        assert all(f & TCP_ACK and not f & (TCP_SYN | TCP_FIN | TCP_RST) for f, _, _ in answers), answers
        # ... which is still TIME_WAIT (rfc1337: B's RSTs were ignored).
        assert ss_tuples(a, "time-wait", PORT) == tw
        # ... and arrived without a mark or priority, as with veth.
        assert [m for _, m, _ in answers if m] == [], "TIME_WAIT ACKs arrived in B with skb->mark set"
        assert [p for _, _, p in answers if p] == [], "TIME_WAIT ACKs arrived in B with skb->priority set"

        if kind == "rveth":
            st2 = ethtool_stats(a, "a0")
            # A TIME_WAIT socket has no classid: nothing counted or carried.
            assert st2["tx_meta_classid"] == st1["tx_meta_classid"], (st1, st2)
            assert st2["tx_meta_classid_carried"] == st1["tx_meta_classid_carried"], (st1, st2)
    finally:
        cap.close()


# --------------------------------------------------------------------------
# 2. The peer's attributes, with and without a peer part
# --------------------------------------------------------------------------

MAC = "02:00:00:00:00:11"
PEER_MAC = "02:00:00:00:00:22"
DEV_OPTS = (f"address {MAC} mtu 1400 txqueuelen 77 group 3 numtxqueues 3 numrxqueues 3 "
            "broadcast ff:ff:ff:ff:ff:fe gso_max_size 32768 gso_max_segs 100 gro_max_size 32000")
PEER_VARIANTS = {
    "no-peer-part": "",
    "peer-without-address": "peer name p mtu 1300",
    "peer-with-address": f"peer name p address {PEER_MAC} txqueuelen 55",
}
# Fields of `ip -j -d link show` that are names, indexes or kind-specific.
IGNORED = {"ifindex", "ifname", "link", "link_index", "link_netnsid", "linkinfo", "address", "altnames"}
SYSFS = ("addr_assign_type", "name_assign_type", "type", "dev_port", "tx_queue_len", "mtu",
         "flags", "netdev_group", "link_mode", "operstate", "carrier_changes")
NET_ADDR_RANDOM = 1


def device_fields(ns, dev):
    """Everything `ip -j -d link show` and sysfs tell about a device but its
    names, indexes, kind-specific data and MAC; the MAC as a category."""
    j = json.loads(run(f"ip -n {ns} -j -d link show dev {dev}"))[0]
    f = {k: v for k, v in j.items() if k not in IGNORED}
    base = f"/sys/class/net/{dev}"
    for name in SYSFS:
        f["sys_" + name] = run(f"ip netns exec {ns} cat {base}/{name}", check=False).strip()
    queues = run(f"ip netns exec {ns} ls {base}/queues").split()
    f["real_tx_queues"] = sum(q.startswith("tx-") for q in queues)
    f["real_rx_queues"] = sum(q.startswith("rx-") for q in queues)
    mac = j["address"]
    first = int(mac.split(":")[0], 16)
    if mac == MAC:
        f["mac"] = "requested"
    elif mac == PEER_MAC:
        f["mac"] = "requested-for-peer"
    elif not first & 1 and first & 2:
        f["mac"] = "random (unicast, local)"
    else:
        f["mac"] = f"other: {mac}"
    return f


def create_and_read(netns, kind, variant):
    """Create `a` (+ its peer) in a fresh namespace; return (fields of a,
    fields of the peer, peer's MAC)."""
    load(kind)
    ns = netns.new("P")
    ip_plugin(f"-n {ns} link add name a {DEV_OPTS} type {kind} {PEER_VARIANTS[variant]}")
    devs = [l for l in json.loads(run(f"ip -n {ns} -j link show")) if l["ifname"] not in ("lo", "a")]
    assert len(devs) == 1, devs
    peer = devs[0]["ifname"]
    a_idx = json.loads(run(f"ip -n {ns} -j link show dev a"))[0]["ifindex"]
    assert run(f"ip netns exec {ns} cat /sys/class/net/{peer}/iflink").strip() == str(a_idx)
    return device_fields(ns, "a"), device_fields(ns, peer), json.loads(run(f"ip -n {ns} -j link show dev {peer}"))[0]["address"]


@pytest.mark.parametrize("variant", list(PEER_VARIANTS))
def test_peer_attributes_like_veth(netns, variant):
    veth_a, veth_p, _ = create_and_read(netns, "veth", variant)
    rveth_a, rveth_p, rveth_peer_mac = create_and_read(netns, "rveth", variant)

    # The oracle: veth gives the peer a random unicast MAC (assign type
    # NET_ADDR_RANDOM) unless its own peer part names one, and the device
    # the MAC it asked for.
    want_mac = "requested-for-peer" if variant == "peer-with-address" else "random (unicast, local)"
    assert veth_p["mac"] == want_mac, veth_p
    if want_mac.startswith("random"):
        assert int(veth_p["sys_addr_assign_type"]) == NET_ADDR_RANDOM, veth_p
    assert veth_a["mac"] == "requested", veth_a

    # rveth: every field of both ends as veth's (the MAC as its category,
    # addr_assign_type included), all differences reported at once.
    # The queue counts included: both kinds give a device one queue per
    # possible CPU unless the request names counts, and the request's own
    # attributes decide how many the peer uses (veth_init_queues(peer, tb)).
    diffs = {}
    for which, v, r in (("device", veth_a, rveth_a), ("peer", veth_p, rveth_p)):
        d = {k: (v.get(k), r.get(k)) for k in sorted(set(v) | set(r)) if v.get(k) != r.get(k)}
        if d:
            diffs[which] = d
    assert diffs == {}, (f"rveth differs from veth (veth, rveth); rveth's peer has MAC {rveth_peer_mac}, "
                         f"requested {MAC}: {diffs}")
    same_as_veth(f"attributes of both ends ({variant})", (rveth_a, rveth_p), (veth_a, veth_p))
