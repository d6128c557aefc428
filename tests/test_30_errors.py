# SPDX-License-Identifier: GPL-2.0
"""Bad requests get a clean error, the same errno as veth, and leave
nothing behind."""
import errno
import struct

import pytest

from conftest import load_veth, same_as_veth
from util import run

import rtnl
from rtnl import attr, ifinfomsg, link_attrs, nest

A, P = rtnl.IFLA_ADDRESS, rtnl.VETH_INFO_PEER


def peer_raw(body, ifi=True):
    return attr(P, (ifinfomsg() if ifi else b"") + body)


def msg(kind, name="ea0", data=b"", **dev):
    info = attr(rtnl.IFLA_INFO_KIND, kind)
    if data:
        info += nest(rtnl.IFLA_INFO_DATA, data)
    return link_attrs(name=name, **dev) + nest(rtnl.IFLA_LINKINFO, info)


# name -> (request body builder taking kind, expected errno)
CASES = {
    "dev_name_too_long": (lambda k: msg(k, name="x" * 16, data=peer_raw(link_attrs(name="ep0"))), errno.ERANGE),
    "peer_name_too_long": (lambda k: msg(k, data=peer_raw(link_attrs(name="y" * 16))), errno.ERANGE),
    "dev_mac_short": (lambda k: msg(k, address=b"\x02\0\0\0\1", data=peer_raw(link_attrs(name="ep0"))), errno.EINVAL),
    "dev_mac_multicast": (lambda k: msg(k, address="01:00:5e:00:00:01", data=peer_raw(link_attrs(name="ep0"))), errno.EADDRNOTAVAIL),
    "dev_mac_zero": (lambda k: msg(k, address="00:00:00:00:00:00", data=peer_raw(link_attrs(name="ep0"))), errno.EADDRNOTAVAIL),
    "peer_mac_multicast": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", address="03:00:00:00:00:01"))), errno.EADDRNOTAVAIL),
    "peer_mac_long": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", address=b"\x02" * 7))), errno.EINVAL),
    "dev_mtu_too_small": (lambda k: msg(k, mtu=67, data=peer_raw(link_attrs(name="ep0"))), errno.EINVAL),
    "dev_mtu_too_big": (lambda k: msg(k, mtu=65536, data=peer_raw(link_attrs(name="ep0"))), errno.EINVAL),
    "peer_mtu_too_small": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", mtu=10))), errno.EINVAL),
    "peer_netns_pid_missing": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", netns_pid=999999))), errno.ESRCH),
    "peer_netns_fd_bad": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", netns_fd=9999))), errno.EBADF),
    # An unknown IFLA_TARGET_NETNSID in the peer part is not an error in
    # rtnetlink (rtnl_link_get_net_ifla() returns NULL and the peer stays in
    # the link namespace); veth and rveth both accept it.
    "peer_netnsid_unknown": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0", netnsid=4242))), None),
    "peer_attr_too_short": (lambda k: msg(k, data=attr(P, b"\0" * 8)), errno.ERANGE),
    "peer_mtu_wrong_size": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0") + attr(rtnl.IFLA_MTU, b"\0\5"))), errno.ERANGE),
    "peer_name_empty_payload": (lambda k: msg(k, data=peer_raw(attr(rtnl.IFLA_IFNAME, b""))), errno.ERANGE),
    # A truncated attribute inside the peer part: rtnetlink's liberal
    # parsing stops there (and logs "bytes leftover"); veth accepts it.
    "peer_attrs_truncated": (lambda k: msg(k, data=peer_raw(link_attrs(name="ep0") + struct.pack("=HH", 40, 3) + b"ab")), None),
    "same_name_both_ends": (lambda k: msg(k, name="dup0", data=peer_raw(link_attrs(name="dup0"))), errno.EEXIST),
}


def attempt(body):
    """Send an RTM_NEWLINK request (create, exclusive); return (errno, extack
    message, extack offset), errno 0 for success. The offset is where in
    the request the attribute the kernel blamed starts: the same place for
    both kinds, whose requests differ only in the kind's name ("veth" and
    "rveth" both pad to 8 bytes)."""
    with rtnl.Rtnl() as r:
        r.seq += 1
        payload = ifinfomsg() + body
        flags = rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
        r.sock.send(struct.pack("=IHHII", 16 + len(payload), rtnl.RTM_NEWLINK, flags, r.seq, 0) + payload)
        while True:
            data = r.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, mflags, seq, _ = struct.unpack_from("=IHHII", data, off)
                assert length >= 16, "bad netlink reply"
                if seq == r.seq and mtype == rtnl.NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", data, off + 16)
                    # nlmsgerr: error, then the request's header (capped).
                    tlv = rtnl._attrs(data, off + 36, off + length) if mflags & rtnl.NLM_F_ACK_TLVS else {}
                    m, o = tlv.get(NLMSGERR_ATTR_MSG), tlv.get(NLMSGERR_ATTR_OFFS)
                    return (-err, None if m is None else m.split(b"\0")[0].decode(errors="replace"),
                            None if o is None else struct.unpack("=I", o[:4])[0])
                off += (length + 3) & ~3


NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2


def attempt_clean(body):
    """Attempt a request, then delete whatever it created; return
    (errno, extack message, extack offset, devices it created). Fails if
    the deletion did not bring the device list back to what it was."""
    before = devices()
    got, m, offs = attempt(body)
    created = sorted(set(devices()) - set(before))
    for d in created:
        run(f"ip link del dev {d}", check=False)
    assert devices() == before, f"could not delete what the request created: {created}"
    return got, m, offs, created


def devices():
    return sorted(l.split(":")[1].strip().split("@")[0] for l in run("ip -o link show").splitlines())


def as_veth(m):
    """An extack message with rveth's name for itself replaced by veth's,
    so that messages naming the driver compare equal."""
    return None if m is None else m.replace("rveth", "veth")


# Requests veth refuses without an extack message (veth_validate() sets
# none) and rveth refuses with one: rveth's validate callback says which
# attribute is wrong. A deliberate difference, asserted exactly here; every
# other case must give veth's message (None included).
RVETH_ONLY_EXTACK = {
    "dev_mac_short": "rveth: MAC address must be 6 bytes",
    "peer_mac_long": "rveth: MAC address must be 6 bytes",
    "dev_mac_multicast": "rveth: MAC address must be unicast and non-zero",
    "dev_mac_zero": "rveth: MAC address must be unicast and non-zero",
    "peer_mac_multicast": "rveth: MAC address must be unicast and non-zero",
    "dev_mtu_too_small": "rveth: MTU must be between 68 and 65535",
    "dev_mtu_too_big": "rveth: MTU must be between 68 and 65535",
    "peer_mtu_too_small": "rveth: MTU must be between 68 and 65535",
}


@pytest.fixture(scope="module")
def veth_loaded():
    load_veth()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request(rveth, veth_loaded, case):
    build, want = CASES[case]
    got_r, msg_r, offs_r, created_r = attempt_clean(build("rveth"))
    got_v, msg_v, offs_v, created_v = attempt_clean(build("veth"))
    same_as_veth(f"{case}: errno", got_r, got_v)
    if want is None:
        assert got_r == 0, f"rveth: errno {got_r} ({msg_r}), expected success"
        # The request is accepted: the pair is there, named as asked.
        same_as_veth(f"{case}: devices created", created_r, created_v)
        assert created_r == ["ea0", "ep0"], created_r
    else:
        assert got_r == want, f"rveth: errno {got_r} ({msg_r}), expected {want}"
        # Refused: nothing was created, by either kind.
        assert created_v == [], f"veth left devices behind: {created_v}"
        assert created_r == [], f"rveth left devices behind: {created_r}"
    if case in RVETH_ONLY_EXTACK:
        assert msg_v is None, f"veth now says {msg_v!r}: compare with it instead"
        assert msg_r == RVETH_ONLY_EXTACK[case], msg_r
    else:
        same_as_veth(f"{case}: extack message", as_veth(msg_r), msg_v)
    same_as_veth(f"{case}: attribute blamed (extack offset)", offs_r, offs_v)


@pytest.mark.parametrize("which", ["dev", "peer"])
def test_duplicate_existing_name(rveth, veth_loaded, which):
    """A new pair whose device (dev) or peer (peer) would take the name of
    an existing device: EEXIST, the existing pair untouched, nothing new.
    The dev case is refused by the core before the driver runs; the peer
    case inside the driver's newlink, when it registers the peer (its
    error path is what is tested)."""
    res = {}
    for kind in ("rveth", "veth"):
        rtnl.create_pair("ex0", "ex1", kind=kind)
        try:
            before = devices()
            body = msg(kind, name="ex0" if which == "dev" else "new0",
                       data=peer_raw(link_attrs(name="new1" if which == "dev" else "ex1")))
            got, m, offs = attempt(body)
            after = devices()
        finally:
            run("ip link del dev ex0")
            # Only there if the request wrongly succeeded.
            run("ip link del dev new0", check=False)
        assert "ex0" in before and "ex1" in before
        res[kind] = (got, as_veth(m), offs, sorted(set(after) ^ set(before)))
    same_as_veth(f"{which} name taken: errno, extack, devices changed", res["rveth"], res["veth"])
    assert res["rveth"][0] == errno.EEXIST
    assert res["rveth"][3] == [], f"devices added or removed: {res['rveth'][3]}"


def test_unknown_info_data_attribute_ignored_like_veth(rveth, veth_loaded):
    # rtnetlink parses IFLA_INFO_DATA liberally (nla_parse_nested_deprecated):
    # attributes above maxtype are ignored, for veth and rveth alike.
    res = {}
    for kind in ("rveth", "veth"):
        body = msg(kind, name="uk0", data=peer_raw(link_attrs(name="uk1")) + attr(7, b"\0" * 4))
        res[kind] = attempt_clean(body)
    same_as_veth("attribute above maxtype", res["rveth"], res["veth"])
    assert res["rveth"] == (0, None, None, ["uk0", "uk1"])
