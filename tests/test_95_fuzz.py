# SPDX-License-Identifier: GPL-2.0
"""A seeded rtnetlink fuzzer for kind rveth.

RTM_NEWLINK, RTM_SETLINK and RTM_DELLINK messages with random and malformed
IFLA_INFO_DATA, peer blocks (short, long, garbage ifinfomsg, nested IFLA_*
with wrong lengths, namespaces by fd/pid/netnsid) and policy attributes.
Two worker processes (one per vCPU) send concurrently, each its own
stream: the same seed gives the same messages per worker (RVETH_FUZZ_SEED,
default 1; the interleaving of the two is up to the scheduler). The count
is stress.scale(4800, 100000) or RVETH_FUZZ_COUNT.

Every 400 messages, and at the end, the invariants are checked: every rveth
device that exists has a live peer (nothing half-created), every errno is a
plain negative errno. At the end everything is deleted, the module unloads
(no leaked reference) and a fresh pair still pings.
"""
import errno
import multiprocessing
import os
import random
import socket
import struct
import time

from conftest import MODULE, load_rveth, module_loaded, sh
from stress import run_workers, scale
from util import make_pair, run

import rtnl
from rtnl import attr, ifinfomsg, nest

NAMES = [f"fz{i}" for i in range(12)] + ["rveth0", "rveth1", "lo", "x" * 15, "y" * 16, "", "a/b", "."]
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32
IFLA_PROMISCUITY, IFLA_GSO_MAX_SIZE = 30, 41


def raw_attr(rng, kind, payload):
    """An attribute whose header may lie about its length."""
    r = rng.random()
    if r < 0.05:
        return struct.pack("=HH", rng.randrange(0, 4), kind) + payload
    if r < 0.10:
        return struct.pack("=HH", 4 + len(payload) + rng.randrange(1, 64), kind) + payload
    return attr(kind, payload)


class Fuzzer:
    def __init__(self, seed, ns_names):
        self.rng = random.Random(seed)
        self.ns_fds = [os.open(f"/run/netns/{n}", os.O_RDONLY) for n in ns_names]
        self.bad_fd = os.open("/dev/null", os.O_RDONLY)

    def close(self):
        for fd in self.ns_fds + [self.bad_fd]:
            os.close(fd)

    def payload(self, n=None):
        rng = self.rng
        n = rng.randrange(0, 24) if n is None else n
        return bytes(rng.randrange(256) for _ in range(n))

    def ifla(self, depth=0):
        """Random IFLA_* attributes for a device or a peer."""
        rng = self.rng
        out = b""
        for _ in range(rng.randrange(0, 6)):
            c = rng.randrange(14)
            if c == 0:
                name = rng.choice(NAMES)
                out += raw_attr(rng, rtnl.IFLA_IFNAME, name.encode() + (b"\0" if rng.random() < 0.9 else b""))
            elif c == 1:
                mtu = rng.choice([0, 67, 68, 1500, 9000, 65535, 65536, 0xFFFFFFFF, rng.randrange(1 << 32)])
                out += raw_attr(rng, rtnl.IFLA_MTU, struct.pack("=I", mtu)[: rng.choice([4, 4, 4, 2])])
            elif c == 2:
                mac = rng.choice([bytes(6), b"\x01" + self.payload(5), b"\x02" + self.payload(5),
                                  b"\xff" * 6, self.payload(rng.randrange(0, 10))])
                out += raw_attr(rng, rtnl.IFLA_ADDRESS, mac)
            elif c == 3:
                out += raw_attr(rng, rtnl.IFLA_TXQLEN, struct.pack("=I", rng.choice([0, 1, 1000, rng.randrange(1 << 32)])))
            elif c == 4:
                out += raw_attr(rng, rtnl.IFLA_NET_NS_FD, struct.pack("=I", rng.choice(self.ns_fds + [self.bad_fd, 9999])))
            elif c == 5:
                out += raw_attr(rng, rtnl.IFLA_NET_NS_PID, struct.pack("=I", rng.choice([1, os.getpid(), 0x7ffffff0])))
            elif c == 6:
                out += raw_attr(rng, rtnl.IFLA_TARGET_NETNSID, struct.pack("=i", rng.choice([-1, 0, 1, 2, 7, 1 << 20])))
            elif c == 7:
                out += raw_attr(rng, rtnl.IFLA_GROUP, struct.pack("=I", rng.randrange(1 << 32)))
            elif c == 8:
                out += raw_attr(rng, rng.choice([IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES]),
                                struct.pack("=I", rng.choice([0, 1, 2, 8, 4097, 1 << 20])))
            elif c == 9:
                out += raw_attr(rng, IFLA_GSO_MAX_SIZE, struct.pack("=I", rng.randrange(1 << 32)))
            elif c == 10 and depth == 0:
                out += self.linkinfo(depth + 1)
            else:
                out += raw_attr(rng, rng.randrange(0, 70), self.payload())
        return out

    def info_data(self, depth):
        rng = self.rng
        data = b""
        for _ in range(rng.randrange(0, 5)):
            t = rng.choice([1, 1, 1, 2, 3, 4, 5, 0, 6, 7])
            if t == 1:
                ifi = ifinfomsg(index=rng.choice([0, 0, 0, 1, rng.randrange(1 << 31)]),
                                flags=rng.choice([0, rtnl.IFF_UP]), family=rng.choice([0, 0, 2, 10]))
                ifi = ifi[: rng.choice([16, 16, 16, 0, 4, 15])]
                data += raw_attr(rng, 1, ifi + self.ifla(depth))
            elif t in (2, 3, 4, 5):
                v = rng.choice([0, 1, 2, 3, 255, rng.randrange(256)])
                data += raw_attr(rng, t, bytes([v])[: rng.choice([1, 1, 1, 0])] + self.payload(rng.choice([0, 0, 0, 3])))
            else:
                data += raw_attr(rng, t | rng.choice([0, rtnl.NLA_F_NESTED]), self.payload())
        return data

    def linkinfo(self, depth=0):
        rng = self.rng
        # An unknown kind makes the core run modprobe (a usermode helper,
        # ~0.1 s under emulation): keep it rare.
        kind = "rveth" if rng.random() < 0.995 else rng.choice(["rvet", "rveth\0x"])
        info = raw_attr(rng, rtnl.IFLA_INFO_KIND, kind.encode() + b"\0")
        if rng.random() < 0.85:
            info += nest(rtnl.IFLA_INFO_DATA, self.info_data(depth))
        return nest(rtnl.IFLA_LINKINFO, info)

    def defect(self):
        rng = self.rng
        peer_ok = ifinfomsg() + attr(rtnl.IFLA_IFNAME, rng.choice(NAMES[:12]))
        c = rng.randrange(9)
        if c == 0:
            return attr(rtnl.IFLA_IFNAME, rng.choice(["lo", "y" * 16, "a/b", ".", ""]))
        if c == 1:
            return attr(rtnl.IFLA_MTU, rng.choice([0, 67, 65536, 0xFFFFFFFF]))
        if c == 2:
            return attr(rtnl.IFLA_ADDRESS, rng.choice([b"\x01" + self.payload(5), bytes(6), self.payload(3)]))
        if c == 3:
            return attr(rtnl.IFLA_NET_NS_FD, rng.choice([self.bad_fd, 9999]))
        if c == 4:
            return attr(rtnl.IFLA_NET_NS_PID, 0x7ffffff0)
        if c == 5:  # a policy value out of range
            data = attr(rng.randrange(2, 6), bytes([rng.randrange(3, 256)]))
        elif c == 6:  # a peer block shorter than struct ifinfomsg
            data = attr(1, ifinfomsg()[: rng.randrange(0, 16)])
        elif c == 7:  # a peer attribute that lies about its length
            data = attr(1, ifinfomsg() + struct.pack("=HH", rng.choice([2, 200]), rtnl.IFLA_IFNAME) + b"pb\0\0")
        else:  # a bad name or address for the peer
            data = attr(1, peer_ok + rng.choice([attr(rtnl.IFLA_IFNAME, "z" * 16), attr(rtnl.IFLA_IFNAME, "lo"),
                                                 attr(rtnl.IFLA_ADDRESS, b"\x01\0\0\0\0\1"),
                                                 attr(rtnl.IFLA_MTU, 65536),
                                                 attr(rtnl.IFLA_NET_NS_FD, self.bad_fd)]))
        info = attr(rtnl.IFLA_INFO_KIND, "rveth") + nest(rtnl.IFLA_INFO_DATA, self.info_data(1) + data)
        return nest(rtnl.IFLA_LINKINFO, info)

    def message(self):
        """(type, flags, body) of one random request."""
        rng = self.rng
        op = rng.random()
        if op < 0.7:
            body = ifinfomsg(flags=rng.choice([0, 0, rtnl.IFF_UP])) + self.ifla() + self.linkinfo()
            if rng.random() < 0.9:
                # Mostly requests that must be refused: one certain defect
                # appended (the last of an attribute wins), so the error
                # paths are hit often and few pairs are really created.
                body += self.defect()
            flags = rng.choice([rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL] * 4 + [rtnl.NLM_F_CREATE, 0])
            return rtnl.RTM_NEWLINK, flags, body
        if op < 0.85:
            body = ifinfomsg(flags=rng.choice([0, rtnl.IFF_UP]), change=rng.choice([0, rtnl.IFF_UP]))
            body += attr(rtnl.IFLA_IFNAME, rng.choice(NAMES[:12])) + self.ifla()
            if rng.random() < 0.5:
                body += self.linkinfo()
            return rtnl.RTM_SETLINK, 0, body
        return rtnl.RTM_DELLINK, 0, ifinfomsg() + attr(rtnl.IFLA_IFNAME, rng.choice(NAMES[:14]))


def all_rveth(ns_names):
    """{(ns, name): (ifindex, iflink)} for every rveth device in the
    namespaces. An rveth end's iflink is its peer's ifindex, 0 without one."""
    found = {}
    for ns in [None] + ns_names:
        for index, name, kind, iflink in rtnl.dump_links(ns):
            if kind == "rveth":
                found[(ns, name)] = (index, iflink)
    return found


def check_pairs(ns_names):
    found = all_rveth(ns_names)
    half = {k: v for k, v in found.items() if v[1] == 0}
    assert not half, f"rveth devices without a peer (half-created pair): {half}"
    assert len(found) % 2 == 0, f"odd number of rveth devices: {sorted(found)}"
    return found


def delete_all(ns_names):
    """Deletes every pair (deleting one end takes the other)."""
    for ns in [None] + ns_names:
        with rtnl.Rtnl(ns) as r:
            for index, _, kind, _ in rtnl.dump_links(ns):
                if kind == "rveth":
                    try:
                        r.dellink(index=index)
                    except rtnl.NetlinkError as e:
                        assert e.errno == errno.ENODEV  # went with its peer


WORKERS = 2
SYNC_EVERY = 200


def fuzz_worker(wid, seed, count, ns_names, barrier, q):
    """One of WORKERS processes sending `count` messages from its own seeded
    stream. Every SYNC_EVERY messages the workers meet at a barrier and
    worker 0 checks the invariants while nothing is in flight (a lockless
    link dump taken during a newlink or dellink could see a pair half-way)."""
    fz = Fuzzer(seed * WORKERS + wid, ns_names)
    errnos, created, failure = {}, 0, None
    t0 = time.monotonic()
    try:
        with rtnl.Rtnl() as r:
            r.sock.settimeout(30)
            for i in range(count):
                mtype, flags, body = fz.message()
                try:
                    r.request(mtype, flags, body)
                    created += mtype == rtnl.RTM_NEWLINK
                    errnos[0] = errnos.get(0, 0) + 1
                except rtnl.NetlinkError as e:
                    assert 0 < e.errno < 4096, f"worker {wid} message {i}: odd errno {e.errno}"
                    errnos[e.errno] = errnos.get(e.errno, 0) + 1
                except socket.timeout:
                    raise AssertionError(f"worker {wid} message {i}: no answer within 30 s")
                if i % SYNC_EVERY == SYNC_EVERY - 1:
                    barrier.wait(timeout=600)
                    if wid == 0:
                        if len(check_pairs(ns_names)) > 24:
                            delete_all(ns_names)
                        if i % 2000 == 1999:
                            print(f"fuzz: {WORKERS * (i + 1)} messages, {time.monotonic() - t0:.0f} s", flush=True)
                    barrier.wait(timeout=600)
    except Exception as e:  # reported to the parent
        failure = repr(e)
        barrier.abort()
    finally:
        fz.close()
    q.put((wid, errnos, created, failure))


def test_names_are_bytes(rveth):
    """Regression (the fuzzer, seed 1, ~20,000 messages into the KASAN run):
    a random IFLA_IFNAME made an rveth end named b'"\\xc5&\\xe5\\xcd\\xb2',
    which the kernel accepts (names are bytes), and the fuzzer's own link
    dump died decoding it as UTF-8. Such a pair must be created, listed as
    a pair and deleted like any other."""
    a = b'"\xc5&\xe5\xcd\xb2'.decode("utf-8", "surrogateescape")
    b = b"\xff\xfe".decode("utf-8", "surrogateescape")
    rtnl.create_pair(a, b)
    try:
        ends = {name: (index, iflink) for index, name, kind, iflink in rtnl.dump_links() if kind == "rveth"}
        assert set(ends) == {a, b}
        assert ends[a][1] == ends[b][0] and ends[b][1] == ends[a][0]
    finally:
        with rtnl.Rtnl() as r:
            r.dellink(name=a)
    assert all_rveth([]) == {}


def test_netlink_fuzz(rveth, netns):
    count = int(os.environ.get("RVETH_FUZZ_COUNT") or scale(4800, 100000))
    count -= count % (WORKERS * SYNC_EVERY)
    seed = int(os.environ.get("RVETH_FUZZ_SEED") or 1)
    ns_names = [netns.new("fz"), netns.new("fz")]
    for i, ns in enumerate(ns_names):
        run(f"ip netns set {ns} {i + 1}")
    barrier = multiprocessing.Barrier(WORKERS)
    t0 = time.monotonic()
    results = run_workers(fuzz_worker, [(w, seed, count // WORKERS, ns_names, barrier)
                                        for w in range(WORKERS)], timeout=7200)
    check_pairs(ns_names)
    errnos, created = {}, 0
    for _, e, c, _ in results:
        created += c
        for k, v in e.items():
            errnos[k] = errnos.get(k, 0) + v
    took = time.monotonic() - t0
    summary = ", ".join(f"{errno.errorcode.get(k, k) if k else 'ok'}={v}" for k, v in sorted(errnos.items()))
    print(f"fuzz: seed {seed}, {count} messages in {took:.0f} s, {created} pairs created; {summary}")
    assert sum(errnos.values()) == count
    # Some messages must get through and many must be refused, or the
    # fuzzer is not reaching the driver.
    assert created > 0 and errnos.get(errno.EINVAL, 0) + errnos.get(errno.ERANGE, 0) > 0
    delete_all(ns_names)
    assert all_rveth(ns_names) == {}
    # No reference leaked: the module unloads, reloads and works.
    sh("rmmod rveth", timeout=300)
    assert not module_loaded()
    sh(f"insmod {MODULE}")
    load_rveth()
    a, b = netns.new("ta"), netns.new("tb")
    make_pair("rveth", a, b, ipv6=False)
    assert "2 received" in run(f"ip netns exec {a} ping -c 2 -W 5 10.9.0.2")
