# SPDX-License-Identifier: GPL-2.0
"""Bad requests get a clean error, the same errno as veth, and leave
nothing behind."""
import errno
import os
import struct

import pytest

from conftest import load_veth, rveth_links
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
    try:
        with rtnl.Rtnl() as r:
            r.newlink(body)
        return 0, None
    except rtnl.NetlinkError as e:
        return e.errno, e.extack


def attempt_clean(body):
    """Attempt a request, then delete whatever it created; return
    (errno, extack message, devices it created)."""
    before = devices()
    got, m = attempt(body)
    created = sorted(set(devices()) - set(before))
    for d in created:
        run(f"ip link del dev {d}", check=False)
    return got, m, created


def devices():
    return sorted(l.split(":")[1].strip().split("@")[0] for l in run("ip -o link show").splitlines())


@pytest.fixture(scope="module")
def veth_loaded():
    load_veth()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request(rveth, veth_loaded, case):
    build, want = CASES[case]
    got_r, msg_r, created_r = attempt_clean(build("rveth"))
    got_v, _, created_v = attempt_clean(build("veth"))
    assert got_r == got_v, f"rveth errno {got_r} ({msg_r}) differs from veth's {got_v}"
    if want is None:
        assert len(created_r) == len(created_v)
        return
    assert got_r == want, f"rveth: errno {got_r} ({msg_r}), expected {want}"
    assert created_r == [], f"rveth left devices behind: {created_r}"


def test_bad_mac_has_extack_message(rveth):
    got, m = attempt(CASES["dev_mac_multicast"][0]("rveth"))
    assert got == errno.EADDRNOTAVAIL and m and "rveth" in m


@pytest.mark.parametrize("which", ["dev", "peer"])
def test_duplicate_existing_name(rveth, which):
    rtnl.create_pair("ex0", "ex1")
    before = devices()
    body = msg("rveth", name="ex0" if which == "dev" else "new0",
               data=peer_raw(link_attrs(name="new1" if which == "dev" else "ex1")))
    got, _ = attempt(body)
    after = devices()
    run("ip link del dev ex0")
    assert got == errno.EEXIST
    assert after == before


def test_unknown_info_data_attribute_ignored_like_veth(rveth, veth_loaded):
    # rtnetlink parses IFLA_INFO_DATA liberally (nla_parse_nested_deprecated):
    # attributes above maxtype are ignored, for veth and rveth alike.
    for kind in ("rveth", "veth"):
        body = msg(kind, name="uk0", data=peer_raw(link_attrs(name="uk1")) + attr(7, b"\0" * 4))
        assert attempt(body) == (0, None)
        run("ip link del dev uk0")


def test_no_device_left_after_errors(rveth):
    assert rveth_links() == []
