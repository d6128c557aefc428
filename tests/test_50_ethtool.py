# SPDX-License-Identifier: GPL-2.0
"""ethtool: features equal veth's, driver info, statistics, link settings."""
import pytest

from conftest import load_veth

from util import ifindex, make_pair, run


@pytest.fixture
def pairs(rveth, netns):
    load_veth()
    r1, r2, v1, v2 = (netns.new(p) for p in ("r1", "r2", "v1", "v2"))
    make_pair("rveth", r1, r2)
    make_pair("veth", v1, v2)
    return r1, r2, v1, v2


def features(ns, dev):
    out = run(f"ip netns exec {ns} ethtool -k {dev}")
    return [l for l in out.splitlines()[1:]]


def test_features_equal_veth(pairs):
    r1, _, v1, _ = pairs
    assert features(r1, "ra") == features(v1, "ra")
    assert "tcp-segmentation-offload: on" in features(r1, "ra")
    assert "generic-receive-offload: off" in features(r1, "ra")


def test_drvinfo(pairs):
    out = run(f"ip netns exec {pairs[0]} ethtool -i ra")
    assert "driver: rveth" in out and "version: 1.0" in out


def test_link_settings(pairs):
    out = run(f"ip netns exec {pairs[0]} ethtool ra")
    assert "Speed: 10000Mb/s" in out and "Duplex: Full" in out and "Link detected: yes" in out


def test_stats_peer_ifindex(pairs):
    r1, r2 = pairs[0], pairs[1]
    out = run(f"ip netns exec {r1} ethtool -S ra")
    vals = dict(l.strip().split(": ") for l in out.splitlines()[1:])
    assert int(vals["peer_ifindex"]) == ifindex(r2, "rb")
    assert "tx_dropped" in vals


def test_ts_info(pairs):
    out = run(f"ip netns exec {pairs[0]} ethtool -T ra")
    assert "software-transmit" in out


def test_iflink_and_link_netns(pairs):
    r1 = pairs[0]
    out = run(f"ip -n {r1} -d link show dev ra")
    assert "ra@if" in out and "link-netns" in out
