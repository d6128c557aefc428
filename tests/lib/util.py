# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the pair tests: building pairs, reading counters,
sending frames and streams between namespaces."""
import json
import os
import socket
import struct
import subprocess

import rtnl


def run(cmd, check=True, timeout=120):
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"`{cmd}` exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def nsfd(name):
    return os.open(f"/run/netns/{name}", os.O_RDONLY)


def make_pair(kind, ns_a, ns_b, a="ra", b="rb", ipv6=True, up=True, **peer_extra):
    """Create a pair of `kind` with end `a` in ns_a and end `b` in ns_b,
    addresses 10.9.0.1/24 (+fd00::1/64) and 10.9.0.2/24 (+fd00::2/64)."""
    fd = nsfd(ns_b)
    try:
        peer = {"name": b, "netns_fd": fd}
        peer.update(peer_extra)
        rtnl.create_pair(a, peer=peer, netns=ns_a, kind=kind)
    finally:
        os.close(fd)
    for ns, dev, n in ((ns_a, a, 1), (ns_b, b, 2)):
        if not ipv6:
            run(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1")
        run(f"ip -n {ns} addr add 10.9.0.{n}/24 dev {dev}")
        if ipv6:
            run(f"ip -n {ns} addr add fd00::{n}/64 dev {dev} nodad")
        if up:
            run(f"ip -n {ns} link set dev {dev} up")


def link(ns, dev):
    """`ip -j -s -d link show` of one device, as a dict."""
    pre = f"-n {ns} " if ns else ""
    return json.loads(run(f"ip {pre}-j -s -d link show dev {dev}"))[0]


def stats(ns, dev):
    return link(ns, dev)["stats64"]


def ifindex(ns, dev):
    return link(ns, dev)["ifindex"]


def mac_of(ns, dev):
    return link(ns, dev)["address"]


# send_frames()' default destination: a foreign unicast MAC, so a frame is
# counted by both ends and then dropped as PACKET_OTHERHOST.
FOREIGN_MAC = "02:00:00:00:00:01"


def send_frames(ns, dev, count, size=100, dst=FOREIGN_MAC, ethertype=0x0800):
    """Send `count` raw Ethernet frames of `size` bytes from `dev` in `ns`
    (AF_PACKET: no ARP, no other traffic). The default frame is IPv4 to a
    foreign MAC: the receiver's IP layer drops it as PACKET_OTHERHOST
    without touching device counters. Returns how many send() calls
    succeeded."""
    with rtnl.in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((dev, 0))
        src = bytes(int(x, 16) for x in mac_of(ns, dev).split(":"))
        dstb = bytes(int(x, 16) for x in dst.split(":"))
        frame = dstb + src + struct.pack("!H", ethertype)
        frame += bytes(size - len(frame))
        ok = 0
        for _ in range(count):
            try:
                s.send(frame)
                ok += 1
            except OSError:
                pass
        return ok
    finally:
        s.close()


def ns_python(ns, code, timeout=300):
    """Run a Python snippet inside a namespace; return its stdout."""
    import sys
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"python in {ns} failed: {p.stderr.strip()}")
    return p.stdout


def popen_python(ns, code):
    import sys
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


TCP_SERVER = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print('ready', flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""

TCP_CLIENT = r"""
import hashlib, os, socket, sys
total = int(sys.argv[3]); h = hashlib.sha256(); chunk = os.urandom(1 << 20)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
sent = 0
while sent < total:
    b = chunk[: min(len(chunk), total - sent)]
    s.sendall(b); h.update(b); sent += len(b)
    chunk = chunk[1:] + chunk[:1]
s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
print(sent, h.hexdigest())
"""


def tcp_transfer(ns_srv, ns_cli, addr, nbytes, port=5201):
    import sys
    srv = subprocess.Popen(["ip", "netns", "exec", ns_srv, sys.executable, "-c", TCP_SERVER, addr, str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    cli = subprocess.run(["ip", "netns", "exec", ns_cli, sys.executable, "-c", TCP_CLIENT, addr, str(port), str(nbytes)],
                         capture_output=True, text=True, timeout=600)
    out, err = srv.communicate(timeout=600)
    assert cli.returncode == 0, cli.stderr
    return cli.stdout.split(), out.split()


def ip_plugin(args, check=True):
    """Run the real `ip` with rveth's iproute2 plugin from the build tree."""
    top = os.environ.get("RVETH_TOP", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = dict(os.environ, IP_LIB_DIR=os.path.join(top, "iproute2"))
    p = subprocess.run(f"ip {args}", shell=True, capture_output=True, text=True, env=env, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"ip {args}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def ethtool_stats(ns, dev):
    out = run(f"ip netns exec {ns} ethtool -S {dev}")
    return {k.strip(): int(v) for k, v in (l.split(":") for l in out.splitlines()[1:])}


def wait_until(cond, timeout=60, interval=0.05, what=None):
    """Polls `cond()` until it returns a true value and returns that value;
    fails naming `what` after `timeout` seconds. Tests wait for conditions,
    not for time: under TCG and KASAN a fixed sleep is either too short or
    wasted."""
    import time
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or cond.__name__}")
        time.sleep(interval)


def nstat(ns):
    """The namespace's SNMP counters (nstat -az, absolute), as a dict."""
    out = run(f"ip netns exec {ns} nstat -az --json" if ns else "nstat -az --json")
    d = json.loads(out)
    return {k: v for table in d.values() for k, v in table.items()}


ETH_P_ALL = 0x0003
SO_RCVBUFFORCE = 33


class Capture:
    """Frames arriving at `dev` in `ns` (AF_PACKET, every protocol), counted
    where they arrive, without the frames `dev` sends itself."""

    def __init__(self, ns, dev):
        with rtnl.in_netns(ns):
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.s.bind((dev, ETH_P_ALL))
        self.s.setblocking(False)
        self.frames = []

    def read(self):
        """(ethertype, destination MAC, length) of every frame received so
        far (accumulated in self.frames)."""
        while True:
            try:
                data, addr = self.s.recvfrom(65536)
            except BlockingIOError:
                return self.frames
            if addr[2] != socket.PACKET_OUTGOING:
                self.frames.append((hex(addr[1]), data[:6].hex(":"), len(data)))

    def wait_for(self, pred, n, timeout=30):
        """Waits until `n` frames matching pred(frame) arrived; returns
        the matching frames (more than n if more came)."""
        return wait_until(lambda: [f for f in self.read() if pred(f)] if
                          len([f for f in self.read() if pred(f)]) >= n else None,
                          timeout, what=f"{n} frames on the capture")

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
