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


def ethtool_g(ns, dev):
    """(rx maximum, rx current) from `ethtool -g`, or the error text."""
    p = subprocess.run(f"ip netns exec {ns} ethtool -g {dev}", shell=True, capture_output=True,
                       text=True)
    if p.returncode != 0:
        return p.returncode, p.stderr.strip()
    rx = [int(l.split(":")[1]) for l in p.stdout.splitlines() if l.strip().startswith("RX:")]
    return tuple(rx)


def udp_arrived(ns):
    """Datagrams `ns`'s UDP layer took: read by a socket (UdpInDatagrams)
    or for a port nothing listens on (UdpNoPorts)."""
    c = nstat(ns)
    return c.get("UdpInDatagrams", 0) + c.get("UdpNoPorts", 0)


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
    """`ethtool -S dev` in namespace `ns` (None: this one), as a dict."""
    out = run(f"ip netns exec {ns} ethtool -S {dev}" if ns else f"ethtool -S {dev}")
    return {k.strip(): int(v) for k, v in (l.split(":") for l in out.splitlines()[1:])}


def kernel_config(name):
    """The running kernel's setting of CONFIG_`name` ("y", "m" or None),
    from /proc/config.gz (the project's kernels have IKCONFIG_PROC)."""
    import gzip
    with gzip.open("/proc/config.gz", "rt") as f:
        for line in f:
            if line.startswith(f"CONFIG_{name}="):
                return line.split("=", 1)[1].strip()
    return None


def page_pool_names(names):
    """The page pools' `ethtool -S` names (veth's rx_pp_*, last) in `names`."""
    return [n for n in names if n.startswith("rx_pp_")]


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


def ping_ok(ns, addr, timeout=30):
    """A ping from namespace `ns` to `addr` gets through within `timeout`
    seconds (one probe per try, retried: the first may wait for ARP)."""
    def once():
        return subprocess.run(f"ip netns exec {ns} ping -c1 -W1 {addr}", shell=True,
                              capture_output=True).returncode == 0
    return wait_until(once, timeout=timeout, what=f"ping {addr} from {ns}")


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


# ---------------------------------------------------------------------------
# Delivery counted where it happens (issue 15): the device counters read
# in-process from rtnetlink, frames that carry a marker of the test that sent
# them, a capture that tells them from everything else, and a UDP sink that
# counts and checks what its socket received.

IFLA_STATS64 = 23
LINK_STATS64 = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
    "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
    "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
    "rx_nohandler", "rx_otherhost_dropped")


def stats64(ns, dev):
    """Every field of the device's struct rtnl_link_stats64 (IFLA_STATS64 of
    one RTM_GETLINK), as a dict. In-process, so two reads can bracket a short
    window; and it has rx_otherhost_dropped, which the core counts on the
    receiving device when its IP layer drops a frame addressed to another
    host (iproute2 6.1's `ip -j -s` does not print it)."""
    with rtnl.Rtnl(ns) as r:
        r.seq += 1
        body = rtnl.ifinfomsg() + rtnl.attr(rtnl.IFLA_IFNAME, dev)
        r.sock.send(struct.pack("=IHHII", 16 + len(body), rtnl.RTM_GETLINK,
                                rtnl.NLM_F_REQUEST, r.seq, 0) + body)
        while True:
            data = r.sock.recv(1 << 16)
            length, mtype, _, seq, _ = struct.unpack_from("=IHHII", data, 0)
            if seq != r.seq:
                continue
            if mtype == rtnl.NLMSG_ERROR:
                (err,) = struct.unpack_from("=i", data, 16)
                raise rtnl.NetlinkError(-err, f"RTM_GETLINK {dev}")
            raw = rtnl._attrs(data, 32, length)[IFLA_STATS64]
            values = struct.unpack_from(f"={len(raw) // 8}Q", raw)
            return dict(zip(LINK_STATS64, values))


def wait_equal(get, want, timeout=60, what="value"):
    """Waits until get() == want (a count that reaches its final value a
    little after the action: a frame still in a backlog, a socket not yet
    read); fails with the last value. An int past `want` fails at once: a
    counter does not come back."""
    last = [None]

    def cond():
        last[0] = get()
        if isinstance(want, int) and isinstance(last[0], int) and last[0] > want:
            raise AssertionError(f"{what}: {last[0]}, expected {want}")
        return last[0] == want
    try:
        wait_until(cond, timeout, what=what)
    except AssertionError as e:
        raise AssertionError(f"{what}: {last[0]!r}, expected {want!r} ({e})") from None
    return last[0]


def send_marked(ns, dev, count, size=100, dst=FOREIGN_MAC, ethertype=0x0800):
    """send_frames() whose frames carry a random 8-byte marker and a 32-bit
    sequence number right after the Ethernet header, so a MarkedCapture at
    the receiver counts exactly these frames and nothing else. Returns
    (send() calls that succeeded, marker)."""
    assert size >= 14 + 12
    marker = os.urandom(8)
    with rtnl.in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((dev, 0))
        src = bytes(int(x, 16) for x in mac_of(ns, dev).split(":"))
        dstb = bytes(int(x, 16) for x in dst.split(":"))
        head = dstb + src + struct.pack("!H", ethertype) + marker
        ok = 0
        for i in range(count):
            frame = head + struct.pack("!I", i)
            try:
                s.send(frame + bytes(size - len(frame)))
                ok += 1
            except OSError:
                pass
        return ok, marker
    finally:
        s.close()


SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10


def describe(frame):
    """A short name of a captured frame (for naming stray frames)."""
    etype, dst, length, head, vlan = frame
    e = int(etype, 16)
    what = f"ethertype {etype}"
    try:
        if e == 0x0806 and len(head) >= 42:
            op = struct.unpack_from("!H", head, 20)[0]
            what = f"ARP {'request' if op == 1 else 'reply' if op == 2 else op} " \
                   f"{socket.inet_ntoa(head[28:32])} -> {socket.inet_ntoa(head[38:42])}"
        elif e == 0x0800 and len(head) >= 34:
            proto = head[23]
            names = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP"}
            what = f"IPv4 {names.get(proto, proto)} {socket.inet_ntoa(head[26:30])} -> " \
                   f"{socket.inet_ntoa(head[30:34])}"
        elif e == 0x86dd and len(head) >= 54:
            nh = head[20]
            what = f"IPv6 next header {nh}" + (f" ICMPv6 type {head[54]}" if nh == 58 and len(head) > 54 else "")
    except (OSError, struct.error):
        pass
    return f"{what}, to {dst}, {length} bytes" + (f", VLAN {vlan}" if vlan is not None else "")


class MarkedCapture(Capture):
    """A Capture that keeps each frame's head and VLAN tag: frames are
    (ethertype, destination MAC, length, first HEAD bytes, VLAN id or None).
    It tells the frames a test sent with send_marked() from anything else
    the stack sent (strays, named by describe()). With dev None it sees
    the frames arriving at every device of the namespace (an unbound packet
    socket), which works while a device is down, when a socket bound to it
    would only get ENETDOWN."""

    HEAD = 96

    def __init__(self, ns, dev):
        with rtnl.in_netns(ns):
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        if dev is not None:
            self.s.bind((dev, ETH_P_ALL))
        self.s.setblocking(False)
        self.frames = []

    def read(self):
        while True:
            try:
                data, anc, _, addr = self.s.recvmsg(1 << 17, socket.CMSG_SPACE(20))
            except BlockingIOError:
                return self.frames
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            vlan = None
            for level, typ, cdata in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
                    status, _, _, _, _, tci, _ = struct.unpack_from("=IIIHHHH", cdata)
                    if status & TP_STATUS_VLAN_VALID:
                        vlan = tci & 0xfff
            self.frames.append((hex(addr[1]), data[:6].hex(":"), len(data), bytes(data[:self.HEAD]), vlan))

    @staticmethod
    def _is(frame, marker):
        return frame[3][14:14 + len(marker)] == marker

    def marked(self, marker):
        """The frames that carry `marker`."""
        return [f for f in self.read() if self._is(f, marker)]

    def seqs(self, marker):
        """Sequence numbers of the frames that carry `marker`, sorted."""
        return sorted(struct.unpack_from("!I", f[3], 14 + len(marker))[0] for f in self.marked(marker))

    def others(self, *markers):
        """The frames that carry none of `markers`."""
        return [f for f in self.read() if not any(self._is(f, m) for m in markers)]

    def wait_marked(self, marker, n, timeout=60):
        """Waits until n frames with `marker` arrived; returns them (more if
        more came)."""
        return wait_until(lambda: (lambda m: m if len(m) >= n else None)(self.marked(marker)),
                          timeout, what=f"{n} marked frames on the capture")


def udp_dport(frame):
    """UDP destination port of a captured IPv4 frame, or None."""
    head = frame[3]
    if frame[0] != hex(0x0800) or len(head) < 38 or head[23] != 17:
        return None
    ihl = (head[14] & 0xf) * 4
    if len(head) < 14 + ihl + 4:
        return None
    return struct.unpack_from("!H", head, 14 + ihl + 2)[0]


UDP_SINK = r"""
import socket, sys
addr, port, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: no drop for want of room
s.bind((addr, port)); s.settimeout(60)
print('ready', flush=True)
got, bad, dup = set(), 0, 0
try:
    while len(got) + bad < expect:
        d = s.recv(65535)
        i = int(d[:8]) if d[:8].isdigit() else -1
        if i < 0 or len(d) % 8 or d != d[:8] * (len(d) // 8):
            bad += 1
        elif i in got:
            dup += 1
        else:
            got.add(i)
except socket.timeout:
    pass
print(len(got), bad, dup, flush=True)
"""


class UdpSink:
    """A UDP socket in `ns` bound to addr:port that receives until `expect`
    datagrams came (or none for 60 s) and checks each one's content (as
    udp_send() makes it). result() is (intact distinct datagrams, corrupt
    ones, duplicates)."""

    def __init__(self, ns, addr, port, expect):
        import sys
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", UDP_SINK,
                                   addr, str(port), str(expect)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            self.p.kill()
            raise AssertionError(f"UDP sink did not start: {line!r} {self.p.stderr.read()}")

    def result(self, timeout=180):
        out, err = self.p.communicate(timeout=timeout)
        assert self.p.returncode == 0, err
        return tuple(int(x) for x in out.split())


def udp_send(ns, addr, port, n, reps=150):
    """Sends n datagrams to addr:port from `ns`: datagram i is its 8-digit
    number repeated 1 + i % reps times (8 to 8 * reps bytes)."""
    ns_python(ns, f"""
import socket
addr = {addr!r}
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
for i in range({n}):
    s.sendto((b'%08d' % i) * (1 + i % {reps}), (addr, {port}))
""")


def permanent_neighbours(pairs):
    """Makes each (ns, dev, ip, peer_ns, peer_dev) neighbour permanent, so
    that no ARP request or probe crosses the pair while a test counts."""
    for ns, dev, ip, peer_ns, peer_dev in pairs:
        run(f"ip -n {ns} neigh replace {ip} lladdr {mac_of(peer_ns, peer_dev)} dev {dev} nud permanent")


def sync_link(ns, dev):
    """Runs the device's pending link-watch work now: an RTM_GETLINK of one
    device does (rtnl_getlink() -> linkwatch_sync_dev()). Until it has run,
    a device whose carrier just came on still has the noop qdisc, which
    drops what is sent (counted as the core's tx_dropped, send() succeeds);
    one whose carrier just went off still hands frames to the driver."""
    stats64(ns, dev)


TRACEFS = "/sys/kernel/tracing"


class TraceEvents:
    """The lines trace event `event` ("system/name") logged while the block
    ran (`lines`), only those `filter` (ftrace's filter syntax, e.g.
    "ifindex == 5 && txq_state & 1") lets through. A trace instance of its
    own: its own buffer and switches, whatever the global ones. Both test
    kernels have trace events (CONFIG_ENABLE_DEFAULT_TRACERS in
    kernel/rveth.config): a kernel without them fails here rather than
    leaving a check out."""

    serial = 0

    def __init__(self, event, filter=None):
        self.event = event
        self.filter = filter
        self.lines = None

    def __enter__(self):
        assert "tracefs" in open("/proc/filesystems").read(), \
            "this kernel has no trace events (CONFIG_EVENT_TRACING): kernel/rveth.config turns them on"
        if not os.path.exists(f"{TRACEFS}/instances"):
            run(f"mount -t tracefs nodev {TRACEFS}")
        TraceEvents.serial += 1
        # Without comm recording: enabling an event with it on registers
        # probes on sched_switch/sched_wakeup, which patches the static
        # keys in __schedule() while the other CPU runs it, and under TCG
        # that patching once left a stale int3 there ("Oops: int3" in
        # __schedule, session 25). An instance copies the flag when it is
        # made, and only the top level has the option.
        with open(f"{TRACEFS}/options/record-cmd") as f:
            self.record_cmd = f.read().strip()
        with open(f"{TRACEFS}/options/record-cmd", "w") as f:
            f.write("0")
        self.dir = f"{TRACEFS}/instances/rveth-test-{os.getpid()}-{TraceEvents.serial}"
        try:
            os.mkdir(self.dir)
        except BaseException:
            self.restore_record_cmd()
            raise
        try:
            if self.filter:
                with open(f"{self.dir}/events/{self.event}/filter", "w") as f:
                    f.write(self.filter)
            with open(f"{self.dir}/events/{self.event}/enable", "w") as f:
                f.write("1")
        except BaseException:
            try:
                os.rmdir(self.dir)
            finally:
                self.restore_record_cmd()
            raise
        return self

    def restore_record_cmd(self):
        with open(f"{TRACEFS}/options/record-cmd", "w") as f:
            f.write(self.record_cmd)

    def take(self):
        """The event's lines logged since the instance was made or since
        the last take(), and empties the buffer, leaving the event on: a
        test that counts in several phases switches the event (and the
        kernel's text patching that goes with it) once, not per phase.
        An event logged between the read and the emptying is lost: take()
        belongs at points where the test makes none."""
        name = self.event.split("/")[1] + ":"
        with open(f"{self.dir}/trace") as f:
            lines = [line.strip() for line in f if name in line]
        with open(f"{self.dir}/trace", "w"):
            pass
        return lines

    def __exit__(self, *exc):
        try:
            with open(f"{self.dir}/events/{self.event}/enable", "w") as f:
                f.write("0")
            self.lines = self.take()
        finally:
            # The event is off before comm recording is restored: turning
            # the option back on while an event is enabled would register
            # the sched_switch probes after all.
            try:
                os.rmdir(self.dir)
            finally:
                self.restore_record_cmd()
        return False
