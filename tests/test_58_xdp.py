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
import time

import pytest

import ctypes
import errno
import struct

import rtnl
from conftest import load_veth, same_as_veth, unload_rveth
from util import (UdpSink, ifindex, make_pair, nstat, permanent_neighbours, run, udp_send,
                  wait_until)

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


def attach(ns, dev, name):
    run(f"ip -n {ns} link set dev {dev} xdpdrv obj {prog(name)} sec xdp")


def detach(ns, dev):
    run(f"ip -n {ns} link set dev {dev} xdpdrv off")


def ethtool_S(ns, dev):
    out = run(f"ip netns exec {ns} ethtool -S {dev}")
    return {k.strip(): int(v) for k, v in (l.split(":") for l in out.splitlines()[1:])}


def xdp_counters(ns, dev):
    """veth's per-queue XDP counters of `dev`, summed over its queues."""
    names = ("xdp_packets", "drops", "xdp_redirect", "xdp_drops", "xdp_tx", "xdp_tx_errors")
    out = dict.fromkeys(names, 0)
    for k, v in ethtool_S(ns, dev).items():
        m = re.fullmatch(r"rx_queue_\d+_(.+)", k)
        if m and m.group(1) in out:
            out[m.group(1)] += v
    return out


N = 200


def udp_through(kind, netns, name):
    """N datagrams from A to B with program `name` on B: what B's socket
    got (intact, corrupt, duplicated) and B's XDP counters."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    attach(b, "rb", name)
    if name == "xdp_trim":
        # Every datagram reaches IP 4 bytes short and is dropped there.
        before = nstat(b).get("IpExtInTruncatedPkts", 0)
        udp_send(a, "10.9.0.2", 7000, N)
        wait_until(lambda: nstat(b).get("IpExtInTruncatedPkts", 0) - before >= N, timeout=60,
                   what="truncated datagrams at the receiver's IP layer")
        got = (nstat(b).get("IpExtInTruncatedPkts", 0) - before, 0, 0)
    elif name in ("xdp_pass", "xdp_adjust"):
        sink = UdpSink(b, "10.9.0.2", 7000, N)
        udp_send(a, "10.9.0.2", 7000, N)
        got = sink.result()
    else:
        # Nothing may arrive: wait until the program saw all N, then ask
        # the receiver's UDP layer what it got.
        before = nstat(b).get("UdpInDatagrams", 0)
        udp_send(a, "10.9.0.2", 7000, N)
        wait_until(lambda: xdp_counters(b, "rb")["xdp_packets"] >= N, timeout=60,
                   what="the program saw every datagram")
        got = (nstat(b).get("UdpInDatagrams", 0) - before, 0, 0)
    counters = xdp_counters(b, "rb")
    detach(b, "rb")
    return got, counters


@pytest.mark.parametrize("name", ["xdp_pass", "xdp_drop", "xdp_aborted", "xdp_adjust",
                                  "xdp_trim"])
def test_verdicts_like_veth(rveth, netns, name):
    """PASS and adjust-head-and-back deliver all N intact; DROP and ABORTED
    deliver none and count N in xdp_drops; a program that cuts the tail
    makes every datagram arrive truncated at the receiver's IP layer (it
    ran, and PASS carried its change into the skb); the queue took all N
    (xdp_packets) on both kinds."""
    load_veth()
    res = {kind: udp_through(kind, netns, name) for kind in ("veth", "rveth")}
    print(name, res)
    same_as_veth(f"{name}: received and counters", res["rveth"], res["veth"])
    (got, counters) = res["rveth"]
    assert counters["xdp_packets"] == N
    if name in ("xdp_pass", "xdp_adjust", "xdp_trim"):
        assert got == (N, 0, 0)
        assert counters["xdp_drops"] == 0
    else:
        assert got[0] == 0
        assert counters["xdp_drops"] == N


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
    schedules whenever the ring is on. veth's outcome is printed, not
    asserted (it depends on what else reaches A)."""
    load_veth()
    res = {kind: tx_round_trip(kind, netns, "gro", wait=20 if kind == "veth" else 60)
           for kind in ("veth", "rveth")}
    print("back, xdp_tx, xdp_tx_errors, A's queue packets, drops (GRO at A):", res)
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
    a, b = netns.new("xa"), netns.new("xb")
    make_pair(kind, a, b, ipv6=False)
    setup(a, b)
    return xdp_attach_errno(b, "rb", "xdp_pass")


@pytest.mark.parametrize("case", ["peer_mtu", "queues"])
def test_attach_refusals_like_veth(rveth, netns, case):
    """A peer MTU above a page (ERANGE) and fewer receive queues than the
    peer's transmit queues (ENOSPC) are refused with veth's message (the
    module prefix aside)."""
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
    assert res["rveth"][0] == {"peer_mtu": errno.ERANGE, "queues": errno.ENOSPC}[case]


def test_delete_with_program_under_traffic(rveth, netns):
    """A pair whose ends both run programs is deleted while a UDP flood
    crosses it; then the module unloads (no leak, no splat: the kernel-log
    fixture checks)."""
    a, b = netns.new("xa"), netns.new("xb")
    make_pair("rveth", a, b, ipv6=False)
    permanent_neighbours([(a, "ra", "10.9.0.2", b, "rb"), (b, "rb", "10.9.0.1", a, "ra")])
    attach(a, "ra", "xdp_pass")
    attach(b, "rb", "xdp_pass")
    flood = subprocess.Popen(["ip", "netns", "exec", a, "python3", "-c",
                              "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                              "while True:\n  s.sendto(b'x'*64,('10.9.0.2',9))"],
                             stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        run(f"ip -n {a} link del ra")
    finally:
        flood.kill()
        flood.wait()


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
    return p.returncode, after


@pytest.mark.parametrize("case", ["rx_below_peer_tx", "tx_above_peer_rx"])
def test_channels_with_program_like_veth(rveth, netns, case):
    """veth_set_channels() refuses (EINVAL) a change that would let the
    peer transmit on a queue without a program; rveth too, and the counts
    stay."""
    load_veth()
    res = {kind: channels_with_program(kind, netns, case) for kind in ("veth", "rveth")}
    print(case, res)
    same_as_veth(f"ethtool -L refused with a program: {case}", res["rveth"], res["veth"])
    assert res["rveth"][0] != 0


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
    detach(b, "rb")
    run(f"ip netns exec {b} ethtool -G rb rx 512")


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
