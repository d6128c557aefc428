# SPDX-License-Identifier: GPL-2.0
"""ethtool and `ip -d link`: what rveth shows and how it reacts to
`ethtool -K`, compared with veth.

Every test builds one pair of each kind, ends ra and rb in namespaces of
their own (no IPv6, so no traffic crosses unless a test sends it), and runs
the same commands on both: device names are the same, so outputs compare as
text. Deliberate differences (the driver's name, rveth's own counters and
IFLA_INFO_DATA) and known ones (NAPI behind GRO) are asserted explicitly."""
import json
import os
import socket
import struct
import subprocess

import pytest

import rtnl
from conftest import load_veth, same_as_veth
from util import (ethtool_stats, ifindex, ip_plugin, kernel_config, link, make_pair, page_pool_names, run, send_frames,
                  stats, wait_until)

KINDS = ("rveth", "veth")


@pytest.fixture
def pairs(rveth, netns):
    """{kind: (namespace of ra, namespace of rb)}, both pairs up."""
    load_veth()
    out = {}
    for kind in KINDS:
        a, b = netns.new(kind[0] + "a"), netns.new(kind[0] + "b")
        make_pair(kind, a, b, ipv6=False)
        out[kind] = (a, b)
    # The operational state follows the carrier through the linkwatch
    # work, up to a second later (more under TCG): wait for it, so that
    # what the tests read is settled.
    for kind, (a, b) in out.items():
        for ns, dev in ((a, "ra"), (b, "rb")):
            wait_until(lambda: link(ns, dev)["operstate"] == "UP", timeout=120,
                       what=f"{kind} {dev} operstate UP")
    return out


def sh(ns, cmd):
    """(exit status, stdout, stderr) of a command in a namespace."""
    p = subprocess.run(f"ip netns exec {ns} {cmd}", shell=True, capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def features(ns, dev):
    rc, out, err = sh(ns, f"ethtool -k {dev}")
    assert rc == 0, err
    return out.splitlines()


def both_features(ends):
    (a, b) = ends
    return {"ra": features(a, "ra"), "rb": features(b, "rb")}


def test_features_equal_veth(pairs):
    r, v = both_features(pairs["rveth"]), both_features(pairs["veth"])
    same_as_veth("ethtool -k of both ends", r, v)
    # veth's defaults (and so rveth's): offloads on, GRO off.
    assert "tcp-segmentation-offload: on" in r["ra"]
    assert "generic-receive-offload: off" in r["ra"]


def test_drvinfo(pairs):
    info = {}
    for kind, (a, _) in pairs.items():
        rc, out, err = sh(a, "ethtool -i ra")
        assert rc == 0, err
        info[kind] = dict(l.split(":", 1) for l in out.splitlines())
        info[kind] = {k.strip(): v.strip() for k, v in info[kind].items()}
    # The driver's name is its own; the version is veth's "1.0" too.
    assert (info["rveth"]["driver"], info["veth"]["driver"]) == ("rveth", "veth")
    assert info["rveth"]["version"] == "1.0"
    rest = {k: v for k, v in info["rveth"].items() if k != "driver"}
    same_as_veth("ethtool -i (all but the driver name)", rest,
                 {k: v for k, v in info["veth"].items() if k != "driver"})
    # What the comparison covers: statistics supported, nothing else.
    assert rest["supports-statistics"] == "yes" and rest["bus-info"] == ""


def test_link_settings(pairs):
    def settings():
        out = {}
        for kind, (a, b) in pairs.items():
            out[kind] = (sh(a, "ethtool ra"), sh(b, "ethtool rb"))
        return out
    up = settings()
    same_as_veth("ethtool <dev>, both ends up", up["rveth"], up["veth"])
    rc, out, _ = up["rveth"][0]
    assert rc == 0 and "Speed: 10000Mb/s" in out and "Duplex: Full" in out, out
    assert "Link detected: yes" in out
    # One end down: neither end has a link.
    for kind, (_, b) in pairs.items():
        run(f"ip -n {b} link set dev rb down")
    down = settings()
    same_as_veth("ethtool <dev>, peer down", down["rveth"], down["veth"])
    assert "Link detected: no" in down["rveth"][0][1] and "Link detected: no" in down["rveth"][1][1]


def test_ts_info(pairs):
    t = {kind: (sh(a, "ethtool -T ra"), sh(b, "ethtool -T rb")) for kind, (a, b) in pairs.items()}
    same_as_veth("ethtool -T", t["rveth"], t["veth"])
    rc, out, _ = t["rveth"][0]
    assert rc == 0 and "software-transmit" in out and "software-receive" in out, out


# The names rveth's `ethtool -S` shows: veth's peer_ifindex first, then
# rveth's own counters, then per receive queue in use veth's seven queue
# counters in veth's order and rveth's own ring_full and flushed, then
# veth's two per transmit queue, then, as veth, the page pools' counters
# (rx_pp_*, with CONFIG_PAGE_POOL_STATS). Deliberate.
RVETH_STATS = ["peer_ifindex", "tx_dropped", "tx_meta_classid", "tx_meta_classid_carried",
               "tx_meta_mark", "tx_meta_mark_cleared", "tx_meta_priority",
               "tx_meta_priority_cleared", "xdp_xmit_to_stack"]
VETH_RXQ_STATS = ["rx_queue_0_xdp_packets", "rx_queue_0_xdp_bytes", "rx_queue_0_drops",
                  "rx_queue_0_xdp_redirect", "rx_queue_0_xdp_drops", "rx_queue_0_xdp_tx",
                  "rx_queue_0_xdp_tx_errors"]
VETH_TXQ_STATS = ["tx_queue_0_xdp_xmit", "tx_queue_0_xdp_xmit_errors"]
RVETH_QUEUE_STATS = (VETH_RXQ_STATS + ["rx_queue_0_ring_full", "rx_queue_0_flushed"]
                     + VETH_TXQ_STATS)


def test_stats_names_and_peer_ifindex(rveth, netns):
    load_veth()
    # Ifindexes are per namespace: in fresh namespaces both ends would get
    # the same one, and "peer_ifindex is the peer's ifindex" could not be
    # told from "is its own". A padding pair in rb's namespace shifts rb's.
    ends = {}
    for kind in KINDS:
        a, b = netns.new(kind[0] + "a"), netns.new(kind[0] + "b")
        run(f"ip -n {b} link add name pad0 type veth peer name pad1")
        make_pair(kind, a, b, ipv6=False, up=False)
        assert ifindex(a, "ra") != ifindex(b, "rb")
        ends[kind] = (a, b)
    st = {kind: (ethtool_stats(a, "ra"), ethtool_stats(b, "rb")) for kind, (a, b) in ends.items()}
    pp = page_pool_names(st["veth"][0])
    # The kernel has the page-pool counters, so veth shows them.
    assert kernel_config("PAGE_POOL_STATS") == "y" and pp, list(st["veth"][0])
    assert list(st["rveth"][0]) == RVETH_STATS + RVETH_QUEUE_STATS + pp
    assert list(st["rveth"][1]) == RVETH_STATS + RVETH_QUEUE_STATS + pp
    shared = [k for k in st["veth"][0] if k in st["rveth"][0]]
    assert shared == ["peer_ifindex"] + VETH_RXQ_STATS + VETH_TXQ_STATS + pp, shared
    rel = {}
    for kind, (a, b) in ends.items():
        rel[kind] = (st[kind][0]["peer_ifindex"] - ifindex(b, "rb"),
                     st[kind][1]["peer_ifindex"] - ifindex(a, "ra"))
    same_as_veth("peer_ifindex minus the peer's ifindex", rel["rveth"], rel["veth"])
    assert rel["rveth"] == (0, 0), rel
    # Nothing was sent: rveth's counters are all zero.
    assert [v for k, v in st["rveth"][0].items() if k != "peer_ifindex"] == \
        [0] * (len(RVETH_STATS) - 1 + len(RVETH_QUEUE_STATS) + len(pp))


def test_stats_count_drops(pairs):
    """Frames larger than the peer's MTU are dropped in the driver's
    transmit (veth: __dev_forward_skb() refuses them): the sender's
    tx_dropped, the peer's rx_dropped and rveth's `ethtool -S` tx_dropped
    count exactly these, as many as veth's."""
    n = 20
    delta = {}
    for kind, (a, b) in pairs.items():
        run(f"ip -n {b} link set dev rb mtu 1000")
        sa0, sb0, ea0 = stats(a, "ra"), stats(b, "rb"), ethtool_stats(a, "ra")
        sent_big = send_frames(a, "ra", n, size=1400)   # fits ra's MTU, not rb's
        sent_small = send_frames(a, "ra", n, size=900)  # fits both
        sa, sb, ea = stats(a, "ra"), stats(b, "rb"), ethtool_stats(a, "ra")
        delta[kind] = {
            "sends that succeeded": (sent_big, sent_small),
            "ra tx_packets": sa["tx"]["packets"] - sa0["tx"]["packets"],
            "ra tx_dropped": sa["tx"]["dropped"] - sa0["tx"]["dropped"],
            "rb rx_packets": sb["rx"]["packets"] - sb0["rx"]["packets"],
            "rb rx_dropped": sb["rx"]["dropped"] - sb0["rx"]["dropped"],
            "rb tx_dropped": sb["tx"]["dropped"] - sb0["tx"]["dropped"],
        }
        if kind == "rveth":
            delta["ethtool"] = {k: ea[k] - ea0[k] for k in ea if k != "peer_ifindex"}
    same_as_veth("drop counters (ip -s)", delta["rveth"], delta["veth"])
    assert delta["rveth"]["ra tx_dropped"] == n and delta["rveth"]["rb rx_dropped"] == n, delta
    assert delta["rveth"]["ra tx_packets"] == n and delta["rveth"]["rb rx_packets"] == n, delta
    assert delta["ethtool"] == dict({k: 0 for k in RVETH_STATS[1:] + RVETH_QUEUE_STATS + page_pool_names(ea)},
                                    tx_dropped=n), \
        delta["ethtool"]


def ip_details(ns, dev):
    # With rveth's plugin, so that rveth's IFLA_INFO_DATA is shown whether
    # or not a plugin is installed system-wide (veth's support is built in).
    return json.loads(ip_plugin(f"-n {ns} -d -j link show dev {dev}").stdout)[0]


# Per device, not per kind: the ifindexes (and so the peer's) and the
# random MAC addresses.
PER_DEVICE = ("ifindex", "link_index", "address")


def test_ip_details_like_veth(pairs):
    got = {}
    for kind, (a, b) in pairs.items():
        got[kind] = {"ra": ip_details(a, "ra"), "rb": ip_details(b, "rb")}
        for end, ns, peer_ns, peer in (("ra", a, b, "rb"), ("rb", b, a, "ra")):
            d = got[kind][end]
            # `ra@ifN`: the link is the peer's ifindex, in another namespace.
            assert d["link_index"] == ifindex(peer_ns, peer), (kind, d)
            assert "link_netnsid" in d, (kind, d)
    # IFLA_INFO_DATA: rveth shows its metadata policy, veth has none.
    assert got["veth"]["ra"]["linkinfo"] == {"info_kind": "veth"}
    assert got["rveth"]["ra"]["linkinfo"] == {
        "info_kind": "rveth",
        "info_data": {"scrub": "default", "classid": "off", "peer_scrub": "default", "peer_classid": "off"},
    }, got["rveth"]["ra"]["linkinfo"]

    def comparable(d):
        return {k: v for k, v in d.items() if k not in PER_DEVICE + ("linkinfo",)}
    for end in ("ra", "rb"):
        same_as_veth(f"ip -d link show {end}", comparable(got["rveth"][end]), comparable(got["veth"][end]))


# ethtool queries that veth answers (or refuses) without a device: each must
# give rveth's pair what it gives veth's.
# (-l: the channels; -P: the permanent address, none for either kind.)
# Not -g: rveth has ring parameters (its NAPI rings' size) where veth has
# none, on purpose; test_57_gro.py::test_ring_size checks both.
QUERIES = ["-l", "-c", "-a", "-P", "--show-priv-flags", "-m", "-e", "-d", "--show-eee",
           "--show-fec", "-x", "-n"]


@pytest.mark.parametrize("query", QUERIES)
def test_other_ethtool_queries_like_veth(pairs, query):
    out = {}
    for kind, (a, b) in pairs.items():
        out[kind] = (sh(a, f"ethtool {query} ra"), sh(b, f"ethtool {query} rb"))
    same_as_veth(f"ethtool {query}", out["rveth"], out["veth"])


# `ethtool -K` words and their `ethtool -k` names.
TOGGLES = {
    "gro": "generic-receive-offload",
    "tso": "tcp-segmentation-offload",
    "tx": "tx-checksumming",
    "rx": "rx-checksumming",
    "sg": "scatter-gather",
    "gso": "generic-segmentation-offload",
    "rxvlan": "rx-vlan-offload",
    "txvlan": "tx-vlan-offload",
    "rx-gro-list": "rx-gro-list",
    "rx-udp-gro-forwarding": "rx-udp-gro-forwarding",
    "tx-udp-segmentation": "tx-udp-segmentation",
    "highdma": "highdma",
    "lro": "large-receive-offload",  # fixed off: refused
}


def feature_on(lines, name):
    line = [l for l in lines if l.strip().startswith(name + ":")]
    assert len(line) == 1, (name, lines)
    return line[0].split(":", 1)[1].split()[0] == "on"


def toggle_sequence(ends, word):
    """Turns `word` to the opposite of its current state on ra, takes ra
    down and up, turns it back; then the same on rb. Returns what each step
    showed: `ethtool -K`'s exit status and output, and `ethtool -k` of both
    ends."""
    a, b = ends
    steps = [("start", both_features(ends))]
    for end, ns in (("ra", a), ("rb", b)):
        start = feature_on(features(ns, end), TOGGLES[word])
        for value in (not start, start):
            k = sh(ns, f"ethtool -K {end} {word} {'on' if value else 'off'}")
            steps.append((f"{end} {word} {'on' if value else 'off'}", both_features(ends), k))
            if value != start:
                run(f"ip -n {ns} link set dev {end} down")
                steps.append((f"{end} down", both_features(ends)))
                run(f"ip -n {ns} link set dev {end} up")
                steps.append((f"{end} up", both_features(ends)))
    return steps


@pytest.mark.parametrize("word", sorted(TOGGLES))
def test_ethtool_K_like_veth(pairs, word):
    r = toggle_sequence(pairs["rveth"], word)
    v = toggle_sequence(pairs["veth"], word)
    assert [s[0] for s in r] == [s[0] for s in v]
    for sr, sv in zip(r, v):
        same_as_veth(f"ethtool -K {word}: {sr[0]}", sr[1:], sv[1:])
    # What the steps did on rveth (veth did the same, compared above).
    name = TOGGLES[word]
    for end, first, restore in (("ra", 1, 4), ("rb", 5, 8)):
        start = feature_on(r[0][1][end], name)
        rc = r[first][2][0]
        if word == "lro":
            # Fixed off: refused, nothing changed.
            assert rc != 0 and r[first][1] == r[0][1], r[first]
        else:
            assert rc == 0, r[first][2]
            assert feature_on(r[first][1][end], name) != start, r[first]
            # Down and up keep what was asked for.
            assert feature_on(r[first + 2][1][end], name) != start, r[first + 2]
        assert feature_on(r[restore][1][end], name) == start, r[restore]


# Generic netlink "netdev" family (include/uapi/linux/netdev.h): a device's
# XDP features and its NAPI instances, as `ynl` would show them.
NETLINK_GENERIC = 16
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NETDEV_CMD_DEV_GET, NETDEV_CMD_NAPI_GET = 1, 11
NETDEV_A_DEV_IFINDEX, NETDEV_A_DEV_XDP_FEATURES = 1, 3
NETDEV_A_NAPI_IFINDEX = 1
NETDEV_XDP_ACT_NDO_XMIT, NETDEV_XDP_ACT_NDO_XMIT_SG = 4, 64
XMIT_BITS = NETDEV_XDP_ACT_NDO_XMIT | NETDEV_XDP_ACT_NDO_XMIT_SG


class Genl:
    def __init__(self, ns):
        with rtnl.in_netns(ns):
            self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.seq = 0

    def close(self):
        self.s.close()

    def call(self, family, cmd, attrs=b"", dump=False):
        """The attributes ({type: payload}) of each reply message."""
        self.seq += 1
        flags = rtnl.NLM_F_REQUEST | (rtnl.NLM_F_DUMP if dump else rtnl.NLM_F_ACK)
        body = struct.pack("=BBH", cmd, 1, 0) + attrs
        self.s.send(struct.pack("=IHHII", 16 + len(body), family, flags, self.seq, 0) + body)
        out = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if length < 16:
                    raise RuntimeError("bad netlink reply")
                if seq == self.seq:
                    if mtype == rtnl.NLMSG_DONE:
                        return out
                    if mtype == rtnl.NLMSG_ERROR:
                        (err,) = struct.unpack_from("=i", data, off + 16)
                        if err:
                            raise OSError(-err, os.strerror(-err))
                        return out
                    out.append(rtnl._attrs(data, off + 20, off + length))
                off += (length + 3) & ~3

    def family(self, name):
        (reply,) = self.call(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, rtnl.attr(CTRL_ATTR_FAMILY_NAME, name))
        return struct.unpack("=H", reply[CTRL_ATTR_FAMILY_ID][:2])[0]


def napi_and_xdp(ns, dev):
    """(NAPI instances of the device, its XDP feature bits)."""
    idx = ifindex(ns, dev)
    g = Genl(ns)
    try:
        fam = g.family("netdev")
        napis = g.call(fam, NETDEV_CMD_NAPI_GET, rtnl.attr(NETDEV_A_NAPI_IFINDEX, idx), dump=True)
        (d,) = g.call(fam, NETDEV_CMD_DEV_GET, rtnl.attr(NETDEV_A_DEV_IFINDEX, idx))
        return len(napis), struct.unpack("=Q", d[NETDEV_A_DEV_XDP_FEATURES][:8])[0]
    finally:
        g.close()


def test_gro_napi_like_veth(pairs):
    """`ethtool -K gro on` turns on NAPI on the device while it is up
    (veth_set_features(), veth_open()), on both kinds: the NAPI instances
    the kernel lists (netdev genetlink) are compared step by step. veth
    advertises the peer as an XDP redirect target while GRO is on, and
    both ends' XDP features are compared too."""
    seen = {}
    for kind, (a, b) in pairs.items():
        steps = [("defaults", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb"))]
        run(f"ip netns exec {a} ethtool -K ra gro on")
        steps.append(("ra gro on", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        run(f"ip -n {a} link set dev ra down")
        steps.append(("ra down", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        run(f"ip -n {a} link set dev ra up")
        steps.append(("ra up", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        run(f"ip netns exec {a} ethtool -K ra gro off")
        steps.append(("ra gro off", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        # GRO turned on while down takes effect when the device comes up.
        run(f"ip -n {a} link set dev ra down")
        run(f"ip netns exec {a} ethtool -K ra gro on")
        steps.append(("ra gro on while down", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        run(f"ip -n {a} link set dev ra up")
        steps.append(("ra up with gro", napi_and_xdp(a, "ra"), napi_and_xdp(b, "rb")))
        run(f"ip netns exec {a} ethtool -K ra gro off")
        seen[kind] = steps
    # veth: one NAPI instance on ra while GRO is on and ra is up (one rx
    # queue in use); rb becomes an XDP_REDIRECT target (NDO_XMIT).
    napis = [s[1][0] for s in seen["veth"]]
    assert napis == [0, 1, 0, 1, 0, 0, 1], seen["veth"]
    rb_xmit = [bool(s[2][1] & NETDEV_XDP_ACT_NDO_XMIT) for s in seen["veth"][:5]]
    assert rb_xmit == [False, True, True, True, False], seen["veth"]
    napis_r = [s[1][0] for s in seen["rveth"]]
    same_as_veth("NAPI instances of ra: defaults, gro on, down, up, gro off, gro on while down, up",
                 napis_r, napis)
    # Deliberate difference: an rveth end is always a redirect target
    # (frames redirected into it reach the peer's stack as skbs while the
    # peer has NAPI off, see test_58's redirect tests), so both ends always
    # have NDO_XMIT and NDO_XMIT_SG. The rest is compared with veth.
    always = [(s[1][1] & XMIT_BITS, s[2][1] & XMIT_BITS) for s in seen["rveth"]]
    assert always == [(XMIT_BITS, XMIT_BITS)] * len(seen["rveth"]), seen["rveth"]
    same_as_veth("XDP features of ra and rb but NDO_XMIT(_SG), NAPI instances of rb, at each step",
                 [(s[1][1] & ~XMIT_BITS, (s[2][0], s[2][1] & ~XMIT_BITS)) for s in seen["rveth"]],
                 [(s[1][1] & ~XMIT_BITS, (s[2][0], s[2][1] & ~XMIT_BITS)) for s in seen["veth"]])
