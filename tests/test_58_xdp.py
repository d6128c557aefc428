# SPDX-License-Identifier: GPL-2.0
"""Native XDP (issue 13): programs attached with `ip link set dev X xdp obj
F` run in X's NAPI poll on what the peer sends. veth is the oracle: the
same commands run on both kinds and what arrives (counted at the
receiving socket or capture), the per-queue counters and the refusals
(errno and extack) are compared.
"""
import os
import re
import subprocess
import sys
import time

import pytest

import ctypes
import errno
import socket
import json
import struct

import rtnl
from conftest import load_veth, same_as_veth, unload_rveth
from stress import FLOOD, Proc
from util import (TraceEvents, UdpSink, ethtool_g, ethtool_stats, ifindex, mac_of, make_pair, ns_python, nstat,
                  kernel_config, permanent_neighbours, run, stats, stats64, udp_arrived, udp_send, wait_until)

PROGS = os.path.join(os.path.dirname(__file__), "xdp", "progs.c")
BUILD = "/tmp/rveth-xdp"


def prog(name):
    """The object of test program `name` (built once per VM run)."""
    os.makedirs(BUILD, exist_ok=True)
    obj = f"{BUILD}/{name}.o"
    if not os.path.exists(obj):
        run(f"clang-22 -O2 -g -target bpf -DPROG={name} -I/usr/include/x86_64-linux-gnu "
            f"-c {PROGS} -o {obj}")
    return obj


def attach(ns, dev, name, sec="xdp"):
    run(f"ip -n {ns} link set dev {dev} xdpdrv obj {prog(name)} sec {sec}")


def detach(ns, dev):
    run(f"ip -n {ns} link set dev {dev} xdpdrv off")


def xdp_counters(ns, dev):
    """veth's per-queue XDP counters of `dev`, summed over its queues."""
    names = ("xdp_packets", "drops", "xdp_redirect", "xdp_drops", "xdp_tx", "xdp_tx_errors")
    out = dict.fromkeys(names, 0)
    for k, v in ethtool_stats(ns, dev).items():
        m = re.fullmatch(r"rx_queue_\d+_(.+)", k)
        if m and m.group(1) in out:
            out[m.group(1)] += v
    return out


N = 200


# Programs whose change XDP_PASS must carry into the skb, and the counter
# of the receiver's IP layer that then counts every datagram: xdp_trim's
# datagrams reach IP 4 bytes short (dropped as truncated); xdp_head_grow's
# carry a second Ethernet header where the IP header should be (version 0:
# a header error).
IP_COUNTED = {
    "xdp_trim": ("IpExtInTruncatedPkts", "truncated datagrams"),
    "xdp_head_grow": ("IpInHdrErrors", "header errors"),
}


class XdpExceptions(TraceEvents):
    """Counts xdp:xdp_exception events of one device while the block runs
    (the tracepoint veth and rveth fire for XDP_ABORTED)."""

    def __init__(self, ns, dev):
        super().__init__("xdp/xdp_exception")
        self.ifindex = ifindex(ns, dev)
        self.count = None

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.count = sum(1 for line in self.lines if f"ifindex={self.ifindex}" in line.split())
        return False


def udp_through(kind, netns, name):
    """N datagrams from A to B with program `name` on B: what B's socket
    got (intact, corrupt, duplicated) and B's XDP counters."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    attach(b, "rb", name)
    if name in IP_COUNTED:
        counter, what = IP_COUNTED[name]
        before = nstat(b).get(counter, 0)
        udp_send(a, "10.9.0.2", 7000, N)
        wait_until(lambda: nstat(b).get(counter, 0) - before >= N, timeout=60,
                   what=f"{what} at the receiver's IP layer")
        got = (nstat(b).get(counter, 0) - before, 0, 0)
    elif name in ("xdp_pass", "xdp_adjust"):
        sink = UdpSink(b, "10.9.0.2", 7000, N)
        udp_send(a, "10.9.0.2", 7000, N)
        got = sink.result()
    else:
        # Nothing may arrive. Nothing listens on port 7000, so a datagram
        # that got through would be counted by UdpNoPorts (UdpInDatagrams
        # counts only what a socket reads). Wait until the program saw all
        # N, detach it (which waits for the queue's poll), then send one
        # sentinel to a socket on another port: once it is there, every
        # earlier datagram was either dropped or counted.
        before = udp_arrived(b)
        with XdpExceptions(b, "rb") as exceptions:
            udp_send(a, "10.9.0.2", 7000, N)
            wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] >= N, timeout=60,
                       what="the program saw every datagram")
        counters = xdp_counters(b, "rb")
        # ABORTED is DROP plus the xdp_exception tracepoint.
        counters["xdp_exception events"] = exceptions.count
        detach(b, "rb")
        sentinel = UdpSink(b, "10.9.0.2", 7001, 1)
        udp_send(a, "10.9.0.2", 7001, 1)
        assert sentinel.result() == (1, 0, 0), "the sentinel after the program"
        return (udp_arrived(b) - before - 1, 0, 0), counters
    counters = xdp_counters(b, "rb")
    detach(b, "rb")
    return got, counters


@pytest.mark.parametrize("name", ["xdp_pass", "xdp_drop", "xdp_aborted", "xdp_adjust",
                                  "xdp_trim", "xdp_head_grow"])
def test_verdicts_like_veth(rveth, netns, name):
    """PASS and adjust-head-and-back deliver all N intact; DROP and ABORTED
    deliver none and count N in xdp_drops, ABORTED also N xdp_exception
    trace events (on both test kernels); a program that cuts the tail
    makes every datagram arrive truncated at the receiver's IP layer, and
    one that grows the front by an Ethernet header makes every one a
    header error there (it ran, and PASS carried its change into the skb);
    the queue took all N (xdp_packets) on both kinds."""
    load_veth()
    res = {kind: udp_through(kind, netns, name) for kind in ("veth", "rveth")}
    print(name, res)
    same_as_veth(f"{name}: received and counters", res["rveth"], res["veth"])
    (got, counters) = res["rveth"]
    assert counters["xdp_packets"] == N
    if name in ("xdp_pass", "xdp_adjust", "xdp_trim", "xdp_head_grow"):
        assert got == (N, 0, 0)
        assert counters["xdp_drops"] == 0
    else:
        assert got[0] == 0
        assert counters["xdp_drops"] == N
        assert counters["xdp_exception events"] == (N if name == "xdp_aborted" else 0)


def tx_round_trip(kind, netns, at_a, wait=60):
    """B sends back (XDP_TX, addresses swapped) N datagrams A sent it.
    `at_a` is what A runs to take frames into a NAPI ring: an XDP_PASS
    program (what veth documents as required) or GRO. The frames come back
    to A addressed to B's IP, so A's IP layer drops them as not its own:
    they are counted where they arrive, by A's IP layer. Returns (frames
    back at A's IP layer, B's xdp_tx, B's xdp_tx_errors, A's queue
    packets, A's queue drops)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    if at_a == "gro":
        run(f"ip netns exec {a} ethtool -K ra gro on")
    else:
        attach(a, "ra", "xdp_pass")
    attach(b, "rb", "xdp_tx")
    # Counted by A's IP layer (IpInReceives): the frames are A's own
    # datagrams back, for B's address, which A does not forward.
    before = nstat(a).get("IpInReceives", 0)
    udp_send(a, "10.9.0.2", 7000, N)
    try:
        wait_until(lambda: nstat(a).get("IpInReceives", 0) - before >= N, timeout=wait,
                   what="frames sent back")
    except AssertionError:
        pass
    back = nstat(a).get("IpInReceives", 0) - before
    cb, ca = xdp_counters(b, "rb"), xdp_counters(a, "ra")
    detach(b, "rb")
    if at_a != "gro":
        detach(a, "ra")
    return back, cb["xdp_tx"], cb["xdp_tx_errors"], ca["xdp_packets"], ca["drops"]


def test_xdp_tx_like_veth(rveth, netns):
    """XDP_TX round trip with an XDP_PASS program on the sender: every
    frame comes back, counted in B's xdp_tx and A's queue, on both kinds."""
    load_veth()
    res = {kind: tx_round_trip(kind, netns, "xdp") for kind in ("veth", "rveth")}
    print("back, xdp_tx, xdp_tx_errors, A's queue packets, drops:", res)
    same_as_veth("XDP_TX round trip", res["rveth"], res["veth"])
    assert res["rveth"] == (N, N, 0, N, 0)


def test_xdp_tx_to_gro_peer(rveth, netns):
    """rveth differs on purpose: with only GRO on at A, XDP_TX frames land
    in A's ring on both kinds, but veth schedules A's NAPI after an XDP_TX
    bulk only if A has a program (veth_xdp_flush() tests rq->xdp_prog, not
    rq->napi), so the frames wait for unrelated traffic to A. rveth
    schedules whenever the ring is on. Both are asserted: veth's B sends
    all N back but they do not all reach A in 20 s (nothing else is sent
    to A: permanent neighbours, no IPv6), rveth's all arrive."""
    load_veth()
    res = {kind: tx_round_trip(kind, netns, "gro", wait=20 if kind == "veth" else 60)
           for kind in ("veth", "rveth")}
    print("back, xdp_tx, xdp_tx_errors, A's queue packets, drops (GRO at A):", res)
    back_v, tx_v, *_ = res["veth"]
    assert tx_v == N and back_v < N, ("veth 7.3.4 no longer leaves XDP_TX frames in a GRO-only peer's "
                                      "ring: the documented difference is gone", res["veth"])
    assert res["rveth"] == (N, N, 0, N, 0)


SYS_BPF, BPF_OBJ_GET = 321, 7
IFLA_XDP, IFLA_XDP_FD, IFLA_XDP_FLAGS = 43, 1, 3
XDP_FLAGS_DRV_MODE = 1 << 2


def prog_fd(name):
    """A file descriptor of test program `name`, loaded with bpftool and
    pinned (BPF_OBJ_GET on the pin)."""
    if not os.path.ismount("/sys/fs/bpf"):
        run("mount -t bpf bpf /sys/fs/bpf")
    pin = f"/sys/fs/bpf/rveth-test-{name}"
    if not os.path.exists(pin):
        run(f"bpftool prog load {prog(name)} {pin} type xdp")
    path = ctypes.create_string_buffer(pin.encode())
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("=Q", attr, 0, ctypes.addressof(path))
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(SYS_BPF, BPF_OBJ_GET, attr, 128)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    return fd


def xdp_attach_errno(ns, dev, name):
    """Attaches program `name` to `dev` in driver mode with one
    RTM_SETLINK; (0, None) or (errno, extack)."""
    fd = prog_fd(name)
    try:
        body = rtnl.nest(IFLA_XDP, rtnl.attr(IFLA_XDP_FD, struct.pack("=i", fd)),
                         rtnl.attr(IFLA_XDP_FLAGS, struct.pack("=I", XDP_FLAGS_DRV_MODE)))
        with rtnl.Rtnl(ns) as r:
            r.setlink(body, ifi=rtnl.ifinfomsg(index=ifindex(ns, dev)))
        return 0, None
    except rtnl.NetlinkError as e:
        return e.errno, (e.extack or "").replace("rveth: ", "").replace("veth: ", "")
    finally:
        os.close(fd)


def refusal(kind, netns, setup):
    """The refused attach's (errno, extack), and the messages the
    netlink:netlink_extack tracepoint saw meanwhile (NL_SET_ERR_MSG()
    fires it), module prefix removed."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    setup(a, b)
    with TraceEvents("netlink/netlink_extack") as ev:
        res = xdp_attach_errno(b, "rb", "xdp_pass")
    msgs = [re.sub(r"^.*netlink_extack: msg=", "", line).replace("rveth: ", "").replace("veth: ", "")
            for line in ev.lines]
    return res, msgs


@pytest.mark.parametrize("case", ["peer_mtu", "queues"])
def test_attach_refusals_like_veth(rveth, netns, case):
    """A peer MTU above a page (ERANGE) and fewer receive queues than the
    peer's transmit queues (ENOSPC) are refused with veth's message (the
    module prefix aside), which also reaches the netlink:netlink_extack
    tracepoint as veth's does."""
    load_veth()

    def setup(a, b):
        if case == "peer_mtu":
            run(f"ip -n {a} link set dev ra mtu 9000")
        else:
            run(f"ip netns exec {b} ethtool -L rb rx 1 tx 1")
            run(f"ip netns exec {a} ethtool -L ra rx 1 tx 2")

    res = {kind: refusal(kind, netns, setup) for kind in ("veth", "rveth")}
    print(case, res)
    same_as_veth(f"XDP attach refused: {case}", res["rveth"], res["veth"])
    (err, extack), traced = res["rveth"]
    assert err == {"peer_mtu": errno.ERANGE, "queues": errno.ENOSPC}[case]
    assert extack in traced, (extack, traced)


def test_delete_with_program_under_traffic(rveth, netns):
    """A pair whose ends both run programs is deleted while a UDP flood
    crosses it (the flood is still running and rb's program is still
    taking frames just before the delete); then the module unloads (no
    leak, no splat: the kernel-log fixture checks)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair("rveth", a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    attach(a, "ra", "xdp_pass")
    attach(b, "rb", "xdp_pass")
    flood = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c",
                              "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                              "while True:\n  s.sendto(b'x'*64,('10.9.0.2',9))"],
                             stderr=subprocess.PIPE, text=True)
    try:
        seen = xdp_counters(b, "rb")["xdp_packets"]
        wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] > seen + 1000, timeout=60,
                   what="the flood crossing rb's program")
        seen = xdp_counters(b, "rb")["xdp_packets"]
        wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] > seen, timeout=10,
                   what="frames still crossing just before the delete")
        assert flood.poll() is None, flood.stderr.read()
        run(f"ip -n {a} link del ra")
    finally:
        flood.kill()
        flood.wait()
    unload_rveth()


def channels_with_program(kind, netns, case):
    """`ethtool -L` that would let traffic bypass a program: rb (with a
    program) to fewer rx queues than ra's tx queues, or ra to more tx
    queues than rb (with a program) has rx queues. (exit code, the
    channels afterwards)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    for ns, dev in ((a, "ra"), (b, "rb")):
        run(f"ip netns exec {ns} ethtool -L {dev} rx 1 tx 1")
    attach(b, "rb", "xdp_pass")
    if case == "rx_below_peer_tx":
        run(f"ip netns exec {b} ethtool -L rb rx 2 tx 1")
        run(f"ip netns exec {a} ethtool -L ra tx 2")
        cmd = f"ip netns exec {b} ethtool -L rb rx 1 tx 1"
    else:
        cmd = f"ip netns exec {a} ethtool -L ra tx 2"
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    after = (run(f"ip netns exec {a} ethtool -l ra"), run(f"ip netns exec {b} ethtool -l rb"))
    detach(b, "rb")
    return p.returncode, p.stderr.strip(), after


def driver_einval(err):
    """Whether `ethtool -L`'s error is EINVAL and not one of the ethtool
    core's refusals that name themselves (netlink extack: a count above the
    maximum, no rx or tx channel). With the ioctl, which this ethtool uses
    ("Cannot set device channel parameters: ..."), the core's refusals
    carry no text of their own: the requests here stay within the maximum
    and above zero, so the core lets them through to the driver."""
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return (last.endswith("Invalid argument") and "exceeds maximum" not in err
            and "no RX or TX channel" not in err)


@pytest.mark.parametrize("case", ["rx_below_peer_tx", "tx_above_peer_rx"])
def test_channels_with_program_like_veth(rveth, netns, case):
    """veth_set_channels() refuses (EINVAL) a change that would let the
    peer transmit on a queue without a program; rveth too, and the counts
    stay."""
    load_veth()
    res = {kind: channels_with_program(kind, netns, case) for kind in ("veth", "rveth")}
    print(case, res)
    same_as_veth(f"ethtool -L refused with a program: {case}", res["rveth"], res["veth"])
    code, err, _ = res["rveth"]
    assert code != 0 and driver_einval(err), err


def test_ring_size_with_program(rveth, netns):
    """rveth only (veth has no `ethtool -G`): new rings would turn the
    queues off and on, and the program would miss what crosses meanwhile,
    so the change is refused (EBUSY) while a program runs; allowed again
    after it is detached."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair("rveth", a, b, ipv6=False)
    attach(b, "rb", "xdp_pass")
    p = subprocess.run(f"ip netns exec {b} ethtool -G rb rx 512", shell=True,
                       capture_output=True, text=True)
    assert p.returncode != 0 and "busy" in p.stderr.lower(), (p.returncode, p.stderr)
    assert ethtool_g(b, "rb") == (4096, 256), "the refused change left the ring as it was"
    detach(b, "rb")
    run(f"ip netns exec {b} ethtool -G rb rx 512")
    assert ethtool_g(b, "rb") == (4096, 512)


def test_delete_with_frames_bouncing(rveth, netns):
    """Both ends send every frame back (XDP_TX): a few datagrams bounce
    between the rings for ever, so the rings hold XDP frames (page-pool
    pages) when the pair is deleted and the module unloaded; nothing may
    leak or splat (kernel-log fixture; the module must unload)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair("rveth", a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    attach(b, "rb", "xdp_tx")
    attach(a, "ra", "xdp_tx")
    udp_send(a, "10.9.0.2", 7000, 20)
    wait_until(lambda: xdp_counters(a, "ra")["xdp_tx"] > 1000, timeout=60,
               what="frames bouncing")
    run(f"ip -n {a} link del ra")
    unload_rveth()


def map_of(ns, dev):
    """The id of the one map of the program attached to `dev`."""
    info = json.loads(run(f"ip -n {ns} -j -d link show dev {dev}"))[0]
    pid = info["xdp"]["prog"]["id"]
    (mid,) = json.loads(run(f"bpftool -j prog show id {pid}"))["map_ids"]
    return mid


def map_set(ns, mid, key, value):
    """Slot `key` of map `mid` := `value` (u32 fields, little endian); run
    in `ns`, where a device map resolves ifindexes."""
    hexb = lambda words: " ".join(str(b) for w in words for b in struct.pack("<I", w))
    run(f"ip netns exec {ns} bpftool map update id {mid} key {hexb([key])} value {hexb(value)}")


def tx_queue_sum(ns, dev, name):
    return sum(v for k, v in ethtool_stats(ns, dev).items() if re.fullmatch(rf"tx_queue_\d+_{name}", k))


def redirect_devmap(kind, netns, at_peer):
    """S --ra/rb--> R --sa/sb--> D: rb's program redirects every frame
    through a device map into sa, whose peer sb in D owns the datagrams'
    address (10.9.0.2, and rb's MAC so that they are for it). sb has
    `at_peer`: GRO on, an XDP_PASS program, or nothing. Returns (what D's
    socket got, rb's xdp_packets/xdp_redirect/drops, sa's xdp_xmit and
    xdp_xmit_errors, what sb's queues took and sb's received packets),
    and sa's rveth-only xdp_xmit_to_stack (None for veth)."""
    s, r, d = netns.new("xs"), netns.new("xr"), netns.new("xd")
    make_pair(kind, s, r, ipv6=False)
    make_pair(kind, r, d, a="sa", b="sb", ipv6=False)
    run(f"ip -n {d} link set dev sb address {mac_of(r, 'rb')}")
    permanent_neighbours([(s, "ra", "10.9.0.2", r, "rb")])
    # The sender's checksum in software: a redirected frame loses the skb's
    # CHECKSUM_PARTIAL state, and D's UDP layer would drop the datagrams
    # for their unfinished checksum (veth alike; xdp-tutorial#160).
    run(f"ip netns exec {s} ethtool -K ra tx off")
    csum_before = nstat(d).get("UdpInCsumErrors", 0)
    if at_peer == "gro":
        run(f"ip netns exec {d} ethtool -K sb gro on")
    elif at_peer == "prog":
        attach(d, "sb", "xdp_pass")
    attach(r, "rb", "xdp_redirect_devmap")
    map_set(r, map_of(r, "rb"), 0, [ifindex(r, "sa")])
    if kind == "rveth" or at_peer != "none":
        sink = UdpSink(d, "10.9.0.2", 7000, N)
        udp_send(s, "10.9.0.2", 7000, N)
        got = sink.result()
    else:
        # veth: the redirect fails, rb drops every frame. Nothing listens
        # in D, so a datagram that got there would be counted by
        # UdpNoPorts; rb's program drops before D, so once rb counted N
        # drops nothing can still be on its way.
        before = udp_arrived(d)
        udp_send(s, "10.9.0.2", 7000, N)
        wait_until(lambda: xdp_counters(r, "rb")["drops"] >= N, timeout=60,
                   what="rb dropped every frame")
        got = (udp_arrived(d) - before, 0, 0)
    crb = xdp_counters(r, "rb")
    res = (got, (crb["xdp_packets"], crb["xdp_redirect"], crb["drops"]),
           (tx_queue_sum(r, "sa", "xdp_xmit"), tx_queue_sum(r, "sa", "xdp_xmit_errors")),
           (xdp_counters(d, "sb")["xdp_packets"], stats(d, "sb")["rx"]["packets"]))
    to_stack = ethtool_stats(r, "sa")["xdp_xmit_to_stack"] if kind == "rveth" else None
    detach(r, "rb")
    if at_peer == "prog":
        detach(d, "sb")
    assert nstat(d).get("UdpInCsumErrors", 0) == csum_before
    return res, to_stack


@pytest.mark.parametrize("at_peer", ["gro", "prog"])
def test_redirect_devmap_like_veth(rveth, netns, at_peer):
    """XDP_REDIRECT pair -> pair through a device map, the target's peer
    running NAPI (GRO on, or an XDP_PASS program, which veth requires):
    every datagram arrives intact in D on both kinds, counted as
    redirected by rb, transmitted by sa, received by sb's queue."""
    load_veth()
    res = {kind: redirect_devmap(kind, netns, at_peer) for kind in ("veth", "rveth")}
    print(at_peer, res)
    same_as_veth(f"devmap redirect, {at_peer} at the target's peer", res["rveth"][0], res["veth"][0])
    assert res["rveth"] == (((N, 0, 0), (N, N, 0), (N, 0), (N, N)), 0)


def test_redirect_devmap_without_peer_napi(rveth, netns):
    """Beyond veth (differs on purpose): the target's peer sb has neither
    a program nor GRO. veth advertises sa as a redirect target only while
    sb has NAPI, so the redirect fails and nothing arrives (rb counts the
    frames as drops); documented here by running it. rveth delivers every
    datagram intact as skbs to sb's stack (sb's queues take none: its
    NAPI is off; sb counts them received) and counts them in sa's
    xdp_xmit_to_stack."""
    load_veth()
    res = {kind: redirect_devmap(kind, netns, "none") for kind in ("veth", "rveth")}
    print("no NAPI at the target's peer:", res)
    (got_v, crb_v, _, _), _ = res["veth"]
    assert got_v[0] == 0 and crb_v == (N, 0, N), res["veth"]
    assert res["rveth"] == (((N, 0, 0), (N, N, 0), (N, 0), (0, N)), N)


def redirect_cpumap(kind, netns):
    """rb's program redirects every frame to CPU 0 through a CPU map,
    whose kthread builds skbs of rb for its stack: (what B's socket got,
    rb's xdp_packets/xdp_redirect/drops)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb")])
    # As in redirect_devmap: a CPU map's skbs have no checksum state.
    run(f"ip netns exec {a} ethtool -K ra tx off")
    attach(b, "rb", "xdp_redirect_cpumap")
    # struct bpf_cpumap_val: queue size 2048 (more than the N datagrams,
    # however late CPU 0's kthread runs), no program.
    map_set(b, map_of(b, "rb"), 0, [2048, 0])
    sink = UdpSink(b, "10.9.0.2", 7000, N)
    udp_send(a, "10.9.0.2", 7000, N)
    got = sink.result()
    c = xdp_counters(b, "rb")
    detach(b, "rb")
    return got, (c["xdp_packets"], c["xdp_redirect"], c["drops"])


def test_redirect_cpumap_like_veth(rveth, netns):
    """XDP_REDIRECT into a CPU map: every datagram arrives intact through
    CPU 0's kthread, counted as redirected, on both kinds."""
    load_veth()
    res = {kind: redirect_cpumap(kind, netns) for kind in ("veth", "rveth")}
    print("cpumap:", res)
    same_as_veth("cpumap redirect", res["rveth"], res["veth"])
    assert res["rveth"] == ((N, 0, 0), (N, N, 0))


def helper_exe(name):
    """tests/xdp/`name`.c (a libbpf program), built once per VM run."""
    exe = f"{BUILD}/{name}"
    if not os.path.exists(exe):
        os.makedirs(BUILD, exist_ok=True)
        run(f"gcc -O2 -Wall -o {exe} {os.path.dirname(PROGS)}/{name}.c -lbpf")
    return exe


def meta_loader():
    return helper_exe("meta_loader")


XSK_N, XSK_LEN = 50, 100


def af_xdp_copy(kind, netns):
    """An AF_XDP socket in copy mode on rb's queue 0 (tests/xdp/xsk_copy.c),
    rb's program redirecting UDP to port 9997 into it; XSK_N datagrams of a
    known payload from ra (fewer than the socket's 64 frames, so that none
    may be lost for want of room): (frames the socket got, of them intact),
    rb's xdp_packets/xdp_redirect/drops, and what reached rb's UDP layer
    (nothing may: the socket took them)."""
    a, b = netns.new("ka"), netns.new("kb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb")])
    p = subprocess.Popen(["ip", "netns", "exec", b, helper_exe("xsk_copy"), prog("xdp_redirect_xsk"),
                          "rb", str(XSK_N), str(XSK_LEN), "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        if line != "ready":
            p.wait(timeout=30)
            raise AssertionError(f"xsk_copy: {line!r}, exit {p.returncode}: {p.stderr.read()}")
        udp_before = udp_arrived(b)
        ns_python(a, f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes((i * 7 + 3) & 0xff for i in range({XSK_LEN}))
for i in range({XSK_N}):
    s.sendto(payload, ('10.9.0.2', 9997))
""")
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    frames, good = (int(x) for x in out.split())
    udp = udp_arrived(b) - udp_before
    c = xdp_counters(b, "rb")
    return (frames, good), (c["xdp_packets"], c["xdp_redirect"], c["drops"]), udp


def test_af_xdp_copy_mode_like_veth(rveth, netns):
    """XDP_REDIRECT into an AF_XDP socket in copy mode: every datagram
    reaches the socket intact and none the stack, counted as redirected,
    on both kinds."""
    load_veth()
    res = {kind: af_xdp_copy(kind, netns) for kind in ("veth", "rveth")}
    print("AF_XDP copy mode:", res)
    same_as_veth("AF_XDP copy-mode redirect", res["rveth"], res["veth"])
    assert res["rveth"] == ((XSK_N, XSK_N), (XSK_N, XSK_N, 0), 0)


K = 20


def metadata(kind, netns):
    """A program bound to rb records what the metadata kfuncs return for
    K datagrams from ra (untagged), then K from a VLAN 5 device on ra (the
    tag crosses in the skb, offloaded): (untagged, tagged), each (rx_hash
    return, hash, RSS type, rx_timestamp return, timestamp, rx_vlan_tag
    return, protocol, TCI) of the last datagram."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    # Nothing but the datagrams may reach the program: no IPv6 on the VLAN
    # device, permanent neighbours both ways (no ARP for the ICMP errors
    # the datagrams cause); the program also records only UDP to 7000.
    run(f"ip netns exec {a} sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
    run(f"ip -n {a} link add link ra name ra.5 type vlan id 5")
    run(f"ip -n {a} addr add 10.10.5.1/24 dev ra.5")
    run(f"ip -n {a} link set dev ra.5 up")
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    run(f"ip -n {a} neigh replace 10.10.5.2 lladdr {mac_of(b, 'rb')} dev ra.5 nud permanent")
    p = subprocess.Popen(["ip", "netns", "exec", b, meta_loader(), prog("xdp_meta"), "rb"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline().strip()
        assert line == "ready", (line, p.stderr.read() if p.poll() is not None else "")

        def dump():
            p.stdin.write("dump\n")
            p.stdin.flush()
            return [int(x) for x in p.stdout.readline().split()]

        res = []
        for n, src, addr in ((K, "10.9.0.1", "10.9.0.2"), (2 * K, "10.10.5.1", "10.10.5.2")):
            # A fixed source port: the hash covers it, and both kinds
            # must see the same flow.
            ns_python(a, f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(({src!r}, 40000))
for i in range({K}):
    s.sendto(b'%08d' % i, ({addr!r}, 7000))
""")
            wait_until(lambda: dump()[8] >= n, timeout=60, what="the program saw the datagrams")
            v = dump()
            assert v[8] == n, v
            res.append(tuple(v[:8]))
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    assert p.returncode == 0, p.stderr.read()
    return tuple(res)


def test_metadata_kfuncs_like_veth(rveth, netns):
    """The XDP metadata kfuncs in a program bound to the receiving end
    return what veth's return for the same datagrams: the skb's flow hash
    (same addresses and ports, one boot: the same hash) with its RSS type,
    no hardware timestamp (0), ENODATA for an untagged datagram and
    802.1Q / VLAN 5 for a tagged one."""
    load_veth()
    res = {kind: metadata(kind, netns) for kind in ("veth", "rveth")}
    print("metadata (untagged, tagged):", res)
    same_as_veth("metadata kfuncs, untagged then tagged", res["rveth"], res["veth"])
    untagged, tagged = res["rveth"]
    assert untagged[0] == 0 and untagged[1] != 0, untagged
    assert untagged[3:6] == (0, 0, -errno.ENODATA), untagged
    assert tagged[5:8] == (0, socket.htons(0x8100), 5), tagged


def attach_detach_cycles(kind, netns, gro):
    """Five times: an XDP_DROP program attached to rb, 20 datagrams (all
    dropped by it, none at rb's UDP layer), the program detached, 20 more
    (all delivered intact). rb's GRO is `gro`: with it off NAPI goes on
    and off with the program, with it on NAPI stays and the program comes
    and goes. Returns each cycle's (dropped by the program, reached UDP
    while attached, delivered after)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    run(f"ip netns exec {b} ethtool -K rb gro {gro}")
    out = []
    for _ in range(5):
        drops = xdp_counters(b, "rb")["xdp_drops"]
        udp = udp_arrived(b)
        attach(b, "rb", "xdp_drop")
        udp_send(a, "10.9.0.2", 7000, 20)
        wait_until(lambda: xdp_counters(b, "rb")["xdp_drops"] - drops >= 20, timeout=60,
                   what="the program dropped the datagrams")
        dropped = xdp_counters(b, "rb")["xdp_drops"] - drops
        reached = udp_arrived(b) - udp
        detach(b, "rb")
        sink = UdpSink(b, "10.9.0.2", 7000, 20)
        udp_send(a, "10.9.0.2", 7000, 20)
        out.append((dropped, reached, sink.result()))
    return out


@pytest.mark.parametrize("gro", ["off", "on"])
def test_attach_detach_cycles_like_veth(rveth, netns, gro):
    """Attach, traffic, detach, traffic, five times, with GRO off and on:
    while attached the program drops all 20 and nothing reaches UDP,
    after detaching all 20 arrive intact, on both kinds.

    Between bursts, each attach with a newly loaded program: attaching
    or detaching such a program while another vCPU runs an XDP program
    crashed the emulated VM inside the in-tree veth (int3 Oops in
    bpf_dispatcher_xdp_func, which such an attach re-patches; QEMU TCG,
    2026-11-27). test_attach_detach_under_traffic_like_veth attaches one
    program that another device holds, which re-patches nothing."""
    load_veth()
    res = {kind: attach_detach_cycles(kind, netns, gro) for kind in ("veth", "rveth")}
    print(gro, res)
    same_as_veth(f"attach/detach cycles, GRO {gro}", res["rveth"], res["veth"])
    assert res["rveth"] == [(20, 0, (20, 0, 0))] * 5


def accounted(a, b):
    """Where the datagrams a sent to b went: (reached b's UDP layer,
    dropped by rb's program, dropped by the pair, freed from rb's rings
    when NAPI went off: rveth's `rx_queue_N_flushed`, veth counts none)."""
    q = ethtool_stats(b, "rb")
    flushed = sum(v for k, v in q.items() if re.fullmatch(r"rx_queue_\d+_flushed", k))
    return (udp_arrived(b), xdp_counters(b, "rb")["xdp_drops"], stats64(a, "ra")["tx_dropped"],
            flushed)


def attach_detach_under_traffic(kind, netns, gro, cycles=8):
    """`cycles` times, while floods from ra run the whole time (one sender
    on each vCPU, so that rb's ring is filled from both at once): the
    XDP_DROP program attached to rb until it has dropped 100 more, then
    detached until 100 more reached rb's UDP layer. Then the flood stops
    and, once the counters are still, a burst of 200 must arrive intact.

    The program is loaded once and pinned (prog_fd()), and a second device
    (h0, of the same kind) holds it for the whole test. Attaching and detaching it on
    rb then only counts users of its slot in the kernel's XDP dispatcher
    (bpf_dispatcher_change_prog(): the slot exists, nothing is
    re-patched). Attaching a newly loaded program re-patches the
    dispatcher's call site while the other vCPU runs through it, which
    QEMU's TCG does not survive (see test_attach_detach_cycles_like_veth).

    Returns (every cycle saw the program drop and UDP take the flood, the
    burst's result) for the comparison, and (sent, send failures, where
    they went) for the accounting: a failed send never reached the pair."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    run(f"ip netns exec {b} ethtool -K rb gro {gro}")
    if gro == "on":
        # Else, without a program, ra's datagrams are not eligible for
        # rb's NAPI (veth_skb_is_eligible_for_gro(): ra has TSO) and the
        # detached half of each cycle would not run the poll at all.
        run(f"ip netns exec {a} ethtool -K ra tso off")
    rtnl.create_pair("h0", "h1", netns=b, kind=kind)
    assert xdp_attach_errno(b, "h0", "xdp_drop") == (0, None)
    before = accounted(a, b)
    # To the discard port: no socket, the receiver's UDP layer counts them
    # as UdpNoPorts.
    floods = [Proc(a, FLOOD, "10.9.0.2", 9, cpu) for cpu in range(min(2, os.cpu_count()))]
    ok = []
    try:
        for _ in range(cycles):
            drops = xdp_counters(b, "rb")["xdp_drops"]
            assert xdp_attach_errno(b, "rb", "xdp_drop") == (0, None)
            wait_until(lambda: xdp_counters(b, "rb")["xdp_drops"] >= drops + 100, timeout=60,
                       what="the program dropping the flood")
            run(f"ip -n {b} link set dev rb xdpdrv off")
            udp = udp_arrived(b)
            wait_until(lambda: udp_arrived(b) >= udp + 100, timeout=60,
                       what="the flood reaching UDP after the detach")
            ok.append(all(flood.p.poll() is None for flood in floods))
    finally:
        counts = [flood.stop() for flood in floods]
    sent, failed = (sum(c[i] for c in counts) for i in (0, 1))
    last = [None]

    def still():
        now = accounted(a, b)
        same, last[0] = now == last[0], now
        return same
    wait_until(still, timeout=60, interval=1, what="the counters to stop moving")
    where = tuple(x - y for x, y in zip(last[0], before))
    sink = UdpSink(b, "10.9.0.2", 7000, 200)
    udp_send(a, "10.9.0.2", 7000, 200)
    return (all(ok) and len(ok) == cycles, sink.result()), (sent, failed, where)


@pytest.mark.parametrize("gro", ["off", "on"])
def test_attach_detach_under_traffic_like_veth(rveth, netns, gro):
    """The XDP_DROP program attached to and detached from rb eight times
    while a flood crosses the pair from ra, with GRO off (NAPI goes on and
    off with the program) and on (NAPI stays, ra's TSO off so that every
    datagram goes through it): in every cycle the program drops the
    flood while attached and UDP takes it after the detach, and a burst
    after the flood arrives intact, on both kinds.

    Beyond veth, rveth accounts for every datagram the sender sent: each
    reached UDP, or was dropped by the program, or dropped by the pair
    (ring full, counted in ra's tx_dropped), or freed from a ring when
    NAPI went off (`rx_queue_N_flushed`; in the runs so far no ring held a
    datagram at that moment, on either kind, so that term has been 0).
    veth frees what its rings hold then without counting it
    (veth_napi_del_range() -> ptr_ring_cleanup(.., veth_ptr_free)), so for
    veth the test only checks that nothing is counted twice."""
    load_veth()
    res, acct = {}, {}
    for kind in ("veth", "rveth"):
        res[kind], acct[kind] = attach_detach_under_traffic(kind, netns, gro)
    print(gro, res, acct)
    same_as_veth(f"attach/detach under traffic, GRO {gro}", res["rveth"], res["veth"])
    assert res["rveth"] == (True, (200, 0, 0)), res["rveth"]
    for kind, (sent, failed, where) in acct.items():
        assert sent > 1000, (kind, sent, failed)
        assert sum(where) <= sent, (kind, sent, where)
    sent, _, where = acct["rveth"]
    assert sum(where) == sent, f"rveth: sent {sent}, accounted {where}"


def map_get(mid, key):
    """Slot `key` of map `mid` (u64 value)."""
    kb = " ".join(str(b) for b in struct.pack("<I", key))
    v = json.loads(run(f"bpftool -j map lookup id {mid} key {kb}"))
    val = v.get("formatted", v)["value"] if isinstance(v, dict) else v
    if isinstance(val, list):
        return int.from_bytes(bytes(int(x, 16) for x in val), "little")
    return int(val)


def big_len(i):
    """The length of datagram i in the multi-buffer test: 8 to 8,000 bytes."""
    return 8 * (1 + (i * 37) % 1000)


def multi_buffer(kind, netns):
    """MTU 9000 on both ends, a multi-buffer XDP_PASS program on rb, N
    datagrams of up to 8,000 bytes: (what rb's socket got, how many the
    program saw in more than one buffer, rb's queue packets)."""
    a, b = big_pair(kind, netns)
    attach(b, "rb", "xdp_pass_frags", sec="xdp.frags")
    mid = map_of(b, "rb")
    sink = UdpSink(b, "10.9.0.2", 7000, N)
    ns_python(a, SEND_BIG % (0, N, "(1 + (i * 37) % 1000)", "10.9.0.2", 7000))  # big_len(i)
    got = sink.result()
    res = (got, map_get(mid, 0), xdp_counters(b, "rb")["xdp_packets"])
    detach(b, "rb")
    return res


def test_multi_buffer_like_veth(rveth, netns):
    """A multi-buffer (xdp.frags) program with the peer's MTU above a page
    (refused for a single-buffer program: test_attach_refusals_like_veth):
    datagrams of up to 8,000 bytes arrive intact, and the program saw the
    ones above a page in several buffers, on both kinds."""
    load_veth()
    res = {kind: multi_buffer(kind, netns) for kind in ("veth", "rveth")}
    print("multi-buffer (received, seen in frags, queue packets):", res)
    same_as_veth("multi-buffer XDP_PASS", res["rveth"], res["veth"])
    got, frags, packets = res["rveth"]
    assert got == (N, 0, 0) and packets == N, res["rveth"]
    # A frame longer than a page cannot be in one buffer (less fits: the
    # page also holds XDP's headroom and the shared info).
    assert frags >= sum(1 for i in range(N) if big_len(i) + 42 > 4096), res["rveth"]




SEND_BIG = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(%d, %d):
    s.sendto((b'%%08d' %% i) * %s, ('%s', %d))
"""


def big_pair(kind, netns):
    """A pair with MTU 9000 on both ends and permanent neighbours."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    for ns, dev in ((a, "ra"), (b, "rb")):
        run(f"ip -n {ns} link set dev {dev} mtu 9000")
    return a, b


def frags_shrink(kind, netns, name):
    """multi_buffer()'s N datagrams through program `name` on rb, which cuts
    the tail of every multi-buffer frame: (what rb's socket got, the
    datagrams rb's IP layer dropped as truncated, the program's four
    counters, the queue's packets). The cut datagrams cannot reach the
    socket (their IP length no longer fits); the others must arrive
    intact. As many small datagrams as were cut are sent after the N, so
    that the sink's count of N is reached. The program is detached at the
    end, which destroys rb's page pool (GRO is off)."""
    a, b = big_pair(kind, netns)
    attach(b, "rb", name, sec="xdp.frags")
    mid = map_of(b, "rb")
    before = nstat(b).get("IpExtInTruncatedPkts", 0)
    sink = UdpSink(b, "10.9.0.2", 7000, N)
    ns_python(a, SEND_BIG % (0, N, "(1 + (i * 37) % 1000)", "10.9.0.2", 7000))  # big_len(i)
    wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] >= N, timeout=60,
               what="the program saw every datagram")
    cut = [map_get(mid, k) for k in range(4)]
    wait_until(lambda: nstat(b).get("IpExtInTruncatedPkts", 0) - before >= cut[0], timeout=60,
               what="the cut datagrams at the receiver's IP layer")
    ns_python(a, SEND_BIG % (N, N + cut[0], "1", "10.9.0.2", 7000))
    got = sink.result()
    truncated = nstat(b).get("IpExtInTruncatedPkts", 0) - before
    res = (got, truncated, tuple(cut), xdp_counters(b, "rb")["xdp_packets"])
    detach(b, "rb")
    return res


class PagePoolWatch:
    """Deferred skb frees off (net.core.skb_defer_max = 0) while a test
    runs: a socket's skb is otherwise freed by the CPU that allocated it,
    at its next receive softirq, and on an idle CPU that kept a few
    page-pool pages in flight for minutes (seen: 1 to 6, with and without
    fragments freed, on both kinds). What earlier tests left on the
    per-CPU lists is freed first (a loopback ping on each CPU runs its
    receive softirq there). check() then waits until a pool destroyed at
    `destroyed` (time.monotonic()) would have warned of pages in flight
    (page_pool_release_retry(): first at 60 s, rechecked every second)
    and asserts that no pool did since the start."""

    KNOB = "/proc/sys/net/core/skb_defer_max"

    def __enter__(self):
        from conftest import klog
        with open(self.KNOB) as f:
            self.defer_max = f.read()
        with open(self.KNOB, "w") as f:
            f.write("0")
        for cpu in range(os.cpu_count()):
            run(f"taskset -c {cpu} ping -q -c 1 -W 1 127.0.0.1")
        self.mark = klog().mark()
        return self

    def __exit__(self, *exc):
        with open(self.KNOB, "w") as f:
            f.write(self.defer_max)

    def check(self, destroyed):
        from conftest import kernel_log_since
        stalled = lambda: [l for l in kernel_log_since(self.mark) if "stalled pool shutdown" in l]
        while time.monotonic() < destroyed + 75 and not stalled():
            time.sleep(1)
        assert not stalled(), stalled()


def test_multi_buffer_tail_shrink(rveth, netns):
    """bpf_xdp_adjust_tail() shortening multi-buffer frames, then XDP_PASS:
    the skb follows the shortened frame (its fragment length from the
    buffer, none left when all were freed), so every cut datagram is
    dropped as truncated by the receiver's IP layer, every other one
    arrives intact, and every freed fragment goes back to the page pool.

    veth is the oracle for a 1-byte cut, which shortens the last fragment
    and frees none (xdp_frags_cut1). Freeing fragments (xdp_frags_shrink:
    all of them, or the last ones) runs on rveth only, on purpose: veth
    7.3 returns the freed page-pool pages of its skb path with
    page_frag_free() (its rxq's memory type is MEM_TYPE_PAGE_SHARED).
    Measured on 7.3.4 with this test: a WARN in
    page_pool_alloc_frag_netmem() (the pool's fragment count went
    negative) and, 60 s after the program's detach destroyed the pool,
    "stalled pool shutdown: 55 inflight". rveth uses the pool's memory
    type for a copied buffer. No pool may be left with pages in flight
    (PagePoolWatch)."""
    load_veth()
    with PagePoolWatch() as watch:
        res = {kind: frags_shrink(kind, netns, "xdp_frags_cut1") for kind in ("veth", "rveth")}
        print("1-byte cut (received, truncated, [cut, bytes cut, left single, bytes left], "
              "queue packets):", res)
        same_as_veth("multi-buffer 1-byte tail cut", res["rveth"], res["veth"])
        got, truncated, (cut, cut_bytes, single, left_bytes), packets = res["rveth"]
        lens = sorted((big_len(i) + 42 for i in range(N)), reverse=True)
        # Every frame above a page came in several buffers (less than a
        # page fits in one: XDP's headroom and the shared info are in it
        # too), and the ones cut are the longest.
        assert cut >= sum(1 for n in lens if n > 4096), res["rveth"]
        assert (cut_bytes, single, left_bytes) == (cut, 0, sum(lens[:cut]) - cut), res["rveth"]
        assert truncated == cut and got == (N, 0, 0) and packets == N + cut, res["rveth"]

        freed = frags_shrink("rveth", netns, "xdp_frags_shrink")
        watch.check(time.monotonic())
    print("fragments freed, rveth:", freed)
    got, truncated, (cut2, cut_bytes, single, left_bytes), packets = freed
    # The same frames were multi-buffer; their bytes, cut and left, add up;
    # both ways of cutting happened and exactly the whole cuts left one
    # buffer (a half cut leaves at least half of the fragment bytes, which
    # are 2 mod 8: at least 1).
    assert cut2 == cut and cut_bytes + left_bytes == sum(lens[:cut]), freed
    whole = sum(1 for n in lens[:cut] if not n & 8)
    assert 0 < whole < cut and single == whole, freed
    assert truncated == cut and got == (N, 0, 0) and packets == N + cut, freed


def test_multi_buffer_tail_shrink_frames_after_skbs(rveth, netns):
    """A queue that ran a program on copied skbs with fragments, then on
    XDP frames with fragments, whose fragments the program frees: each
    buffer's fragments are returned as its own memory (the skbs' to their
    page pool, the frames' as their memory type says), whatever came
    before. ra sends rb N datagrams (skbs, copied into rb's pool), then rb
    sends ra N datagrams, which ra's program sends back with XDP_TX
    (frames of MEM_TYPE_PAGE_SHARED: their pages left ra's pool when the
    skb was freed, or hold an extra reference). xdp_frags_shrink on rb
    cuts all of them; no splat, every cut one truncated at rb's IP layer,
    and no page pool left with pages in flight. rveth only: veth 7.3 frees
    the skbs' fragments wrongly (test_multi_buffer_tail_shrink). Returning
    the frames' fragments with the type the skbs before them needed (a
    pool's, with the frame's page in no pool) dereferences a NULL pool.
    The pair has one receive queue (the default), so skbs and frames go
    through the same rxq info. A frame page leaked would not show in
    PagePoolWatch (whole-page fragments left ra's pool when the skb was
    freed): what the test catches there is a wrong type (a NULL pool, a
    pool's count going negative: splats the log check sees)."""
    with PagePoolWatch() as watch:
        a, b = big_pair("rveth", netns)
        attach(a, "ra", "xdp_tx_frags", sec="xdp.frags")
        attach(b, "rb", "xdp_frags_shrink", sec="xdp.frags")
        mid = map_of(b, "rb")
        truncated = lambda: nstat(b).get("IpExtInTruncatedPkts", 0)
        before = truncated()
        lens = sorted((big_len(i) + 42 for i in range(N)), reverse=True)
        sink = UdpSink(b, "10.9.0.2", 7000, N)
        ns_python(a, SEND_BIG % (0, N, "(1 + (i * 37) % 1000)", "10.9.0.2", 7000))
        wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] >= N, timeout=60,
                   what="rb's program saw every datagram from ra")
        cut = map_get(mid, 0)
        assert cut >= sum(1 for n in lens if n > 4096), cut
        wait_until(lambda: truncated() - before >= cut, timeout=60,
                   what="the cut datagrams at rb's IP layer")
        ns_python(a, SEND_BIG % (N, N + cut, "1", "10.9.0.2", 7000))
        assert sink.result() == (N, 0, 0)
        skbs = [map_get(mid, k) for k in range(4)]
        # Frames now: rb -> ra, back with XDP_TX.
        ns_python(b, SEND_BIG % (0, N, "(1 + (i * 37) % 1000)", "10.9.0.1", 7001))
        wait_until(lambda: xdp_counters(a, "ra")["xdp_tx"] >= N, timeout=60,
                   what="ra's program sent every datagram back")
        wait_until(lambda: map_get(mid, 0) >= 2 * cut and truncated() - before >= 2 * cut
                   and xdp_counters(b, "rb")["xdp_packets"] >= 2 * N + cut, timeout=60,
                   what="rb's program saw and cut the frames, rb's IP layer dropped them")
        counts = [map_get(mid, k) for k in range(4)]
        rx = (xdp_counters(a, "ra"), xdp_counters(b, "rb"))
        detach(a, "ra")
        detach(b, "rb")
        watch.check(time.monotonic())
    print("skbs then frames (rb's program counters, truncated, ra and rb XDP counters):",
          counts, truncated() - before, rx)
    # The frames were cut exactly as the skbs (the same lengths, in the
    # same layout: ra's copy is made as rb's was, and XDP_TX keeps it):
    # as many, the same bytes cut and left, the whole cuts leaving one
    # buffer.
    whole = sum(1 for n in lens[:cut] if not n & 8)
    assert skbs[0] == cut and skbs[2] == whole and skbs[1] + skbs[3] == sum(lens[:cut]), skbs
    assert counts == [2 * x for x in skbs], (skbs, counts)
    assert truncated() - before == 2 * cut
    assert rx[0]["xdp_tx"] == N and rx[0]["xdp_tx_errors"] == 0, rx
    assert rx[1]["xdp_packets"] == 2 * N + cut and rx[1]["xdp_drops"] == 0, rx


def page_pool_counters(kind, netns):
    """N datagrams A -> B with an XDP_PASS program on B, whose queue copies
    each skb into a page of its pool (the skbs lack XDP's headroom): B's
    `ethtool -S` page-pool counters (veth's rx_pp_*) before the program is
    detached, and the datagrams B's socket got."""
    a, b = netns.new("pa"), netns.new("pb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    names = list(ethtool_stats(b, "rb"))
    attach(b, "rb", "xdp_pass")
    sink = UdpSink(b, "10.9.0.2", 7000, N)
    udp_send(a, "10.9.0.2", 7000, N)
    got = sink.result()
    st = ethtool_stats(b, "rb")
    detach(b, "rb")
    after = ethtool_stats(b, "rb")
    pp = {k: v for k, v in st.items() if k.startswith("rx_pp_")}
    return names, got, pp, {k: v for k, v in after.items() if k.startswith("rx_pp_")}


def test_page_pool_counters_like_veth(rveth, netns):
    """With CONFIG_PAGE_POOL_STATS (Debian's kernels and the project's have
    it) veth's `ethtool -S` ends with the page pools' counters, summed over
    the receive queues in use; rveth's ends with the same names in the
    same order. An XDP_PASS program copies every datagram into a pool
    page: the pools hand out as many pages as veth's, some come back,
    and once the program is detached (no pool) the counters are zero,
    as veth's."""
    assert kernel_config("PAGE_POOL_STATS") == "y", "the test kernel has CONFIG_PAGE_POOL_STATS"
    load_veth()
    res = {kind: page_pool_counters(kind, netns) for kind in ("veth", "rveth")}
    print(res)
    for kind in ("veth", "rveth"):
        names, got, pp, after = res[kind]
        assert got == (N, 0, 0), kind
        tail = [n for n in names if n.startswith("rx_pp_")]
        assert tail and names[-len(tail):] == tail, (kind, names)
    assert [n for n in res["rveth"][0] if n.startswith("rx_pp_")] == \
        [n for n in res["veth"][0] if n.startswith("rx_pp_")]
    # The pages each pool handed out (from its cache, refilled from its
    # ring, or from the page allocator: fast, refill, slow), one per page
    # the copies filled: veth's count, and not zero. Where they went back
    # depends on when the socket freed each one (one run gave veth 48
    # recycled through the ring, rveth 60): some came back, to the cache
    # or the ring.
    took = {k: r[2]["rx_pp_alloc_fast"] + r[2]["rx_pp_alloc_refill"] + r[2]["rx_pp_alloc_slow"]
            for k, r in res.items()}
    back = {k: r[2]["rx_pp_recycle_cached"] + r[2]["rx_pp_recycle_ring"] for k, r in res.items()}
    assert took["veth"] > 0 and back["veth"] > 0, res["veth"][2]
    same_as_veth("pages the pools handed out for N datagrams through XDP_PASS", took["rveth"], took["veth"])
    assert back["rveth"] > 0, res["rveth"][2]
    # With the program gone the queue has no pool: nothing is counted.
    same_as_veth("page-pool counters after the program was detached", res["rveth"][3], res["veth"][3])
    assert set(res["rveth"][3].values()) == {0}, res["rveth"][3]
