# SPDX-License-Identifier: GPL-2.0
"""Lifecycle: deletion of either end, of a namespace, moves, rmmod."""
import time

import pytest

from conftest import MODULE, load_rveth, module_loaded, rveth_links, sh
from util import make_pair, run

import rtnl


def gone(ns, dev):
    pre = f"-n {ns} " if ns else ""
    return run(f"ip {pre}link show dev {dev}", check=False) == ""


@pytest.mark.parametrize("which", ["ra", "rb"])
def test_delete_either_end_deletes_both(rveth, netns, which):
    a, b = netns.new("ta"), netns.new("tb")
    make_pair("rveth", a, b)
    ns = a if which == "ra" else b
    run(f"ip -n {ns} link del dev {which}")
    assert gone(a, "ra") and gone(b, "rb")


def test_delete_same_namespace_pair(rveth):
    rtnl.create_pair("sa0", "sa1")
    run("ip link del dev sa1")
    assert gone(None, "sa0") and gone(None, "sa1")


@pytest.mark.parametrize("which", ["a", "b"])
def test_delete_namespace_deletes_pair(rveth, netns, which):
    a, b = netns.new("ta"), netns.new("tb")
    make_pair("rveth", a, b)
    run(f"ip netns del {a if which == 'a' else b}")
    netns.names.remove(a if which == "a" else b)
    other, dev = (b, "rb") if which == "a" else (a, "ra")
    for _ in range(100):
        if gone(other, dev):
            break
        time.sleep(0.1)
    assert gone(other, dev)


def test_move_end_keeps_traffic(rveth, netns):
    a, b, c = netns.new("ta"), netns.new("tb"), netns.new("tc")
    make_pair("rveth", a, b, ipv6=False)
    assert "3 received" in run(f"ip netns exec {a} ping -c 3 -i 0.2 -W 5 10.9.0.2")
    run(f"ip -n {b} link set dev rb netns {c}")
    run(f"ip -n {c} addr add 10.9.0.2/24 dev rb")
    run(f"ip -n {c} link set dev rb up")
    assert "3 received" in run(f"ip netns exec {a} ping -c 3 -i 0.2 -W 5 10.9.0.2")
    # The moved end still names its peer, and deleting still takes both.
    assert run(f"ip -n {c} -o link show dev rb").split(":")[1].strip().startswith("rb@")
    run(f"ip -n {a} link del dev ra")
    assert gone(c, "rb")


def test_rmmod_with_100_pairs(rveth, netns):
    a = netns.new("ta")
    with rtnl.Rtnl() as r:
        f = open(f"/run/netns/{a}")
        fd = f.fileno()
        for i in range(100):
            peer = {"name": f"pb{i}", "netns_fd": fd} if i % 2 else {"name": f"pb{i}"}
            r.newlink(rtnl.pair_msg(peer=peer, name=f"pa{i}"))
    assert len(rveth_links()) == 150 and len(rveth_links(a)) == 50
    sh("rmmod rveth", timeout=300)
    assert not module_loaded()
    assert rveth_links() == [] and rveth_links(a) == []
    sh(f"insmod {MODULE}")
    rtnl.create_pair("again0", "again1")
    assert sorted(rveth_links()) == ["again0", "again1"]
    run("ip link del dev again0")
    load_rveth()


def test_default_peer_name(rveth):
    with rtnl.Rtnl() as r:
        # No peer part at all: the peer is named by the kernel (rveth%d).
        r.newlink(rtnl.pair_msg(peer=None, name="dn0"))
    names = rveth_links()
    assert "dn0" in names
    peer = [n for n in names if n.startswith("rveth")]
    assert len(peer) == 1
    run("ip link del dev dn0")
    assert rveth_links() == []


def test_peer_attributes_applied(rveth, netns):
    b = netns.new("tb")
    f = open(f"/run/netns/{b}")
    fd = f.fileno()
    rtnl.create_pair("pa", peer={"name": "pb", "netns_fd": fd, "address": "02:11:22:33:44:55",
                                 "mtu": 9000, "txqlen": 77, "group": 5},
                     address="02:aa:bb:cc:dd:ee", mtu=1400)
    from util import link
    la, lb = link(None, "pa"), link(b, "pb")
    assert la["address"] == "02:aa:bb:cc:dd:ee" and la["mtu"] == 1400
    assert lb["address"] == "02:11:22:33:44:55" and lb["mtu"] == 9000
    assert lb["txqlen"] == 77 and lb["group"] == "5"
    assert la["link_netnsid"] is not None
    run("ip link del dev pa")
