# SPDX-License-Identifier: GPL-2.0
"""The module itself: load, unload, modinfo, link kind registration."""
from conftest import MODULE, kernel_log_since, klog, load_rveth, load_veth, module_loaded, sh, unload_rveth

import rtnl


def kind_registered():
    """Whether the kernel knows link kind rveth (creation succeeds)."""
    try:
        rtnl.create_pair("kindprobe0", "kindprobe1")
    except rtnl.NetlinkError as e:
        assert e.errno == 95, f"unexpected error {e}"  # EOPNOTSUPP: unknown kind
        return False
    sh("ip link del dev kindprobe0")
    return True


REGISTERED = "rveth: link kind rveth registered"


def test_module_loads_and_unloads():
    unload_rveth()
    assert not module_loaded()
    # Only the records printed by this insmod: an earlier load's message
    # (the log keeps every load of the boot) must not satisfy the check.
    mark = klog().mark()
    sh(f"insmod {MODULE}")
    assert module_loaded()
    new = kernel_log_since(mark)
    assert [l for l in new if REGISTERED in l] == [REGISTERED], new
    mark = klog().mark()
    sh("rmmod rveth")
    assert not module_loaded()
    # Unloading prints nothing of rveth's, and certainly no second
    # registration.
    new = kernel_log_since(mark)
    assert not [l for l in new if l.startswith("rveth")], new
    load_rveth()


def test_modinfo_alias_and_license():
    info = sh(f"modinfo {MODULE}")
    fields = {}
    for line in info.splitlines():
        k, _, v = line.partition(":")
        fields.setdefault(k.strip(), []).append(v.strip())
    assert fields["license"] == ["GPL"]
    assert "rtnl-link-rveth" in fields["alias"]
    assert fields["name"] == ["rveth"]
    assert fields["description"]


def test_kind_registered_only_while_loaded():
    load_rveth()
    assert kind_registered()
    unload_rveth()
    assert not kind_registered()
    load_rveth()
    assert kind_registered()


def test_intree_veth_loads_as_control():
    load_veth()
    sh("ip link add name vc0 type veth peer name vc1")
    try:
        assert "driver: veth" in sh("ethtool -i vc0").splitlines()
    finally:
        sh("ip link del dev vc0")
