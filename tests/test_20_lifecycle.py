# SPDX-License-Identifier: GPL-2.0
"""Lifecycle: deletion of either end, of a namespace, moves, module unload.

Every test runs on veth and on rveth (the `kind` fixture) with the same
commands and the same assertions: the in-tree veth is the oracle.
"""
import os
import re

import pytest

from conftest import load_rveth, load_veth, module_loaded, sh
from util import link, make_pair, nstat, run, wait_equal, wait_until

import rtnl


def gone(ns, dev):
    pre = f"-n {ns} " if ns else ""
    return run(f"ip {pre}link show dev {dev}", check=False) == ""


def links_of(kind, ns=None):
    """Names of the devices of link kind `kind` in a namespace."""
    return sorted(name for _, name, k, _ in rtnl.dump_links(ns) if k == kind)


@pytest.mark.parametrize("which", ["ra", "rb"])
def test_delete_either_end_deletes_both(kind, netns, which):
    a, b = netns.new("ta"), netns.new("tb")
    make_pair(kind, a, b)
    ns = a if which == "ra" else b
    run(f"ip -n {ns} link del dev {which}")
    assert gone(a, "ra") and gone(b, "rb")


def test_delete_same_namespace_pair(kind):
    before = set(links_of(kind))
    rtnl.create_pair("sa0", "sa1", kind=kind)
    assert set(links_of(kind)) - before == {"sa0", "sa1"}
    run("ip link del dev sa1")
    assert gone(None, "sa0") and gone(None, "sa1")
    assert set(links_of(kind)) == before


@pytest.mark.parametrize("which", ["a", "b"])
def test_delete_namespace_deletes_pair(kind, netns, which):
    a, b = netns.new("ta"), netns.new("tb")
    make_pair(kind, a, b)
    victim = a if which == "a" else b
    run(f"ip netns del {victim}")
    netns.names.remove(victim)
    other, dev = (b, "rb") if which == "a" else (a, "ra")
    # Namespace teardown is asynchronous (cleanup_net): generous under
    # TCG and KASAN.
    wait_until(lambda: gone(other, dev), 60, what=f"{dev} gone after its peer's namespace was deleted")
    assert links_of(kind, other) == []


def ping_counted(src, dst_ns, addr):
    """Pings addr from src until 3 replies came (60 s deadline) and checks
    that the ICMP layer of dst_ns counted every echo request sent. Returns
    the number sent."""
    before = nstat(dst_ns)
    out = run(f"ip netns exec {src} ping -n -c 3 -i 0.2 -w 60 {addr}", check=False)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m and int(m[2]) == 3, f"ping {addr} from {src}: {out}"
    wait_equal(lambda: nstat(dst_ns)["IcmpInEchos"] - before["IcmpInEchos"], int(m[1]),
               what=f"echo requests counted in {dst_ns}")
    return int(m[1])


def test_move_end_keeps_traffic(kind, netns):
    """rb moves from namespace b to c: pings from a are then answered by c,
    counted there, and b sees none; the moved end still names its peer and
    deleting ra still takes rb along."""
    a, b, c = netns.new("ta"), netns.new("tb"), netns.new("tc")
    make_pair(kind, a, b, ipv6=False)
    ping_counted(a, b, "10.9.0.2")
    run(f"ip -n {b} link set dev rb netns {c}")
    assert gone(b, "rb")
    run(f"ip -n {c} addr add 10.9.0.2/24 dev rb")
    run(f"ip -n {c} link set dev rb up")
    in_b = nstat(b)["IcmpInEchos"]
    ping_counted(a, c, "10.9.0.2")
    assert nstat(b)["IcmpInEchos"] == in_b
    # The moved end still names its peer, and deleting still takes both.
    assert run(f"ip -n {c} -o link show dev rb").split(":")[1].strip().startswith("rb@")
    assert link(c, "rb")["link_netnsid"] is not None
    run(f"ip -n {a} link del dev ra")
    assert gone(c, "rb")


def test_rmmod_with_100_pairs(kind, netns):
    """Unloading the driver deletes all its pairs, in every namespace; the
    kind can be used again after reloading.

    Run on veth too: in the project kernel veth is a module (CONFIG_VETH=m,
    loaded by the harness from the build tree) and nothing holds it but
    its own devices, so it can be unloaded like rveth. If veth ever is
    built in or held, its run fails here and says so."""
    a = netns.new("ta")
    before = len(links_of(kind))
    with rtnl.Rtnl() as r, open(f"/run/netns/{a}") as f:
        for i in range(100):
            peer = {"name": f"pb{i}", "netns_fd": f.fileno()} if i % 2 else {"name": f"pb{i}"}
            r.newlink(rtnl.pair_msg(kind=kind, peer=peer, name=f"pa{i}"))
    assert len(links_of(kind)) == before + 150 and len(links_of(kind, a)) == 50
    if kind == "veth":
        path = "/sys/module/veth/refcnt"  # absent if veth is built in
        refcnt = open(path).read().strip() if os.path.exists(path) else None
        assert refcnt == "0", f"veth is built in or held (refcnt {refcnt}): cannot be unloaded"
    try:
        sh(f"rmmod {kind}", timeout=300)
        assert not module_loaded(kind)
        assert links_of(kind) == [] and links_of(kind, a) == []
    finally:
        if kind == "veth":
            load_veth()
        else:
            load_rveth()
    rtnl.create_pair("again0", "again1", kind=kind)
    assert links_of(kind) == ["again0", "again1"]
    run("ip link del dev again0")
    assert links_of(kind) == []


def test_default_peer_name(kind):
    """No peer part at all: the peer is named by the kernel, <kind>%d."""
    before = links_of(kind)
    with rtnl.Rtnl() as r:
        r.newlink(rtnl.pair_msg(kind=kind, peer=None, name="dn0"))
    new = sorted(set(links_of(kind)) - set(before))
    assert len(new) == 2 and "dn0" in new, new
    peer = [n for n in new if n != "dn0"][0]
    assert re.fullmatch(rf"{kind}\d+", peer), peer
    run("ip link del dev dn0")
    assert links_of(kind) == before


def test_peer_attributes_applied(kind, netns):
    b = netns.new("tb")
    with open(f"/run/netns/{b}") as f:
        rtnl.create_pair("pa", peer={"name": "pb", "netns_fd": f.fileno(), "address": "02:11:22:33:44:55",
                                     "mtu": 9000, "txqlen": 77, "group": 5},
                         address="02:aa:bb:cc:dd:ee", mtu=1400, kind=kind)
    la, lb = link(None, "pa"), link(b, "pb")
    assert la["address"] == "02:aa:bb:cc:dd:ee" and la["mtu"] == 1400
    assert lb["address"] == "02:11:22:33:44:55" and lb["mtu"] == 9000
    assert lb["txqlen"] == 77 and lb["group"] == "5"
    assert la["link_netnsid"] is not None
    run("ip link del dev pa")
    assert gone(b, "pb")
