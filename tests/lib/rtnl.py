# SPDX-License-Identifier: GPL-2.0
"""A minimal rtnetlink client for rveth's tests.

It builds RTM_NEWLINK/RTM_SETLINK/RTM_DELLINK messages byte by byte, so tests
can send exactly what they mean, malformed messages included, and read back
the errno and the extended-ack message the kernel answered with.
"""
import ctypes
import os
import socket
import struct
from contextlib import contextmanager

NETLINK_ROUTE = 0
NETLINK_EXT_ACK = 11
NETLINK_CAP_ACK = 10
SOL_NETLINK = 270
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU = 1, 3, 4
IFLA_TXQLEN, IFLA_LINKINFO, IFLA_NET_NS_PID = 13, 18, 19
IFLA_GROUP, IFLA_NET_NS_FD, IFLA_TARGET_NETNSID = 27, 28, 46
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFF_UP = 1
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd, nstype=CLONE_NEWNET):
    if _libc.setns(fd, nstype) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


@contextmanager
def in_netns(name):
    """Run the block with this thread in network namespace `name`."""
    if name is None:
        yield
        return
    back = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        setns(target)
        yield
    finally:
        setns(back)
        os.close(back)
        os.close(target)


def attr(kind, payload=b""):
    """One netlink attribute, padded to 4 bytes."""
    if isinstance(payload, str):
        # Device names are bytes to the kernel, not UTF-8: names read back
        # with surrogateescape (dump_links) round-trip.
        payload = payload.encode("utf-8", "surrogateescape") + b"\0"
    elif isinstance(payload, int):
        payload = struct.pack("=I", payload)
    hdr = struct.pack("=HH", 4 + len(payload), kind)
    pad = (-len(payload)) % 4
    return hdr + payload + b"\0" * pad


def nest(kind, *children):
    return attr(kind | NLA_F_NESTED, b"".join(children))


def ifinfomsg(index=0, flags=0, change=0, family=0):
    return struct.pack("=BxHiII", family, 0, index, flags, change)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


class NetlinkError(OSError):
    def __init__(self, err, msg):
        super().__init__(err, f"{os.strerror(err)}" + (f" ({msg})" if msg else ""))
        self.extack = msg


class Rtnl:
    """An rtnetlink socket, optionally opened inside a named netns."""

    def __init__(self, netns=None):
        with in_netns(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def request(self, msg_type, flags, body):
        """Send one request; return 0 or raise NetlinkError(errno, extack)."""
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(body), msg_type, flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0)
        self.sock.send(hdr + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, mflags, seq, _ = struct.unpack_from("=IHHII", data, off)
                if length < 16:
                    raise RuntimeError("bad netlink reply")
                if seq == self.seq and mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", data, off + 16)
                    msg = None
                    if mflags & NLM_F_ACK_TLVS:
                        a = off + 20 + 16  # nlmsgerr: error + capped request header
                        while a + 4 <= off + length:
                            alen, atype = struct.unpack_from("=HH", data, a)
                            if alen < 4:
                                break
                            if atype == NLMSGERR_ATTR_MSG:
                                msg = data[a + 4:a + alen].split(b"\0")[0].decode(errors="replace")
                            a += (alen + 3) & ~3
                    if err:
                        raise NetlinkError(-err, msg)
                    return 0
                off += (length + 3) & ~3

    def newlink(self, attrs=b"", ifi=None, flags=NLM_F_CREATE | NLM_F_EXCL):
        return self.request(RTM_NEWLINK, flags, (ifi or ifinfomsg()) + attrs)

    def dellink(self, index=0, name=None):
        return self.request(RTM_DELLINK, 0, ifinfomsg(index=index) + (attr(IFLA_IFNAME, name) if name else b""))

    def setlink(self, attrs=b"", ifi=None):
        return self.request(RTM_SETLINK, 0, (ifi or ifinfomsg()) + attrs)


def link_attrs(name=None, address=None, mtu=None, txqlen=None, netns_pid=None,
               netns_fd=None, netnsid=None, group=None, numtxqueues=None, numrxqueues=None):
    out = b""
    if numtxqueues is not None:
        out += attr(IFLA_NUM_TX_QUEUES, numtxqueues)
    if numrxqueues is not None:
        out += attr(IFLA_NUM_RX_QUEUES, numrxqueues)
    if name is not None:
        out += attr(IFLA_IFNAME, name)
    if address is not None:
        out += attr(IFLA_ADDRESS, mac(address) if isinstance(address, str) else address)
    if mtu is not None:
        out += attr(IFLA_MTU, mtu)
    if txqlen is not None:
        out += attr(IFLA_TXQLEN, txqlen)
    if group is not None:
        out += attr(IFLA_GROUP, group)
    if netns_pid is not None:
        out += attr(IFLA_NET_NS_PID, netns_pid)
    if netns_fd is not None:
        out += attr(IFLA_NET_NS_FD, netns_fd)
    if netnsid is not None:
        out += attr(IFLA_TARGET_NETNSID, struct.pack("=i", netnsid))
    return out


def pair_msg(kind="rveth", peer=None, peer_ifi=None, data_extra=b"", **dev):
    """Body attributes of a pair creation request.

    `peer` is a dict for link_attrs(), raw bytes, or None for no peer part.
    """
    data = b""
    if peer is not None:
        praw = peer if isinstance(peer, bytes) else link_attrs(**peer)
        data += attr(VETH_INFO_PEER, (peer_ifi or ifinfomsg()) + praw)
    data += data_extra
    info = attr(IFLA_INFO_KIND, kind)
    if data:
        info += nest(IFLA_INFO_DATA, data)
    return link_attrs(**dev) + nest(IFLA_LINKINFO, info)


def create_pair(name, peer_name=None, netns=None, kind="rveth", **kw):
    """Create a pair from namespace `netns` (default: the current one)."""
    peer = kw.pop("peer", None)
    if peer is None and peer_name is not None:
        peer = {"name": peer_name}
    with Rtnl(netns) as r:
        return r.newlink(pair_msg(kind=kind, peer=peer, name=name, **kw))


NLM_F_DUMP = 0x300
IFLA_LINK = 5


def _attrs(data, off, end):
    """{type: payload} of the attributes in data[off:end] (nested flag off)."""
    out = {}
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        out[atype & ~NLA_F_NESTED] = data[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


def dump_links(netns=None):
    """[(ifindex, name, kind, iflink)] of every device in a namespace, from
    one RTM_GETLINK dump (no subprocess: fast enough to call often)."""
    links = []
    with Rtnl(netns) as r:
        r.seq += 1
        hdr = struct.pack("=IHHII", 16 + 16, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, r.seq, 0)
        r.sock.send(hdr + ifinfomsg())
        while True:
            data = r.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if mtype == NLMSG_DONE:
                    return links
                if mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", data, off + 16)
                    raise NetlinkError(-err, None)
                _, _, index, _, _ = struct.unpack_from("=BxHiII", data, off + 16)
                a = _attrs(data, off + 32, off + length)
                # Any bytes but '/', ':' and whitespace make a valid name.
                name = a.get(IFLA_IFNAME, b"").split(b"\0")[0].decode("utf-8", "surrogateescape")
                iflink = struct.unpack("=i", a[IFLA_LINK])[0] if IFLA_LINK in a else 0
                kind = None
                if IFLA_LINKINFO in a:
                    li = a[IFLA_LINKINFO]
                    info = _attrs(li, 0, len(li))
                    kind = info.get(IFLA_INFO_KIND, b"").split(b"\0")[0].decode("utf-8", "surrogateescape") or None
                links.append((index, name, kind, iflink))
                off += (length + 3) & ~3
