# SPDX-License-Identifier: GPL-2.0
"""The distribution's `ip` with rveth's plugin; make install, autoload."""
import json
import os
import subprocess

import pytest

from conftest import TOP, load_rveth, module_loaded, rveth_links, unload_rveth
from util import link, run

PLUGIN_DIR = os.path.join(TOP, "iproute2")


def ip(args, check=True, env_plugin=True):
    env = dict(os.environ)
    if env_plugin:
        env["IP_LIB_DIR"] = PLUGIN_DIR
    p = subprocess.run(f"ip {args}", shell=True, capture_output=True, text=True, env=env, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"ip {args}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def test_issue_example(rveth, netns):
    t1 = netns.new("t1")
    ip(f"link add name ra type rveth peer name rb netns {t1}")
    try:
        assert link(None, "ra")["linkinfo"]["info_kind"] == "rveth"
        assert link(t1, "rb")["linkinfo"]["info_kind"] == "rveth"
        run("ip addr add 10.7.0.1/24 dev ra && ip link set dev ra up")
        run(f"ip -n {t1} addr add 10.7.0.2/24 dev rb && ip -n {t1} link set dev rb up")
        assert "3 received" in run("ping -c 3 -i 0.2 -W 5 10.7.0.2")
    finally:
        run("ip link del dev ra", check=False)


def test_options_on_both_sides(rveth, netns):
    t1, t2 = netns.new("t1"), netns.new("t2")
    ip(f"link add name ra netns {t2} address 02:00:00:00:0a:01 mtu 9000 txqueuelen 42 type rveth "
       f"peer name rb netns {t1} address 02:00:00:00:0b:01 mtu 1400 txqueuelen 17")
    a, b = link(t2, "ra"), link(t1, "rb")
    assert (a["address"], a["mtu"], a["txqlen"]) == ("02:00:00:00:0a:01", 9000, 42)
    assert (b["address"], b["mtu"], b["txqlen"]) == ("02:00:00:00:0b:01", 1400, 17)
    assert rveth_links() == []


def test_peer_netns_by_pid(rveth, netns):
    t1 = netns.new("t1")
    holder = subprocess.Popen(["ip", "netns", "exec", t1, "sleep", "60"])
    try:
        import time
        time.sleep(0.5)
        ip(f"link add name ra type rveth peer name rb netns {holder.pid}")
        assert link(t1, "rb")["linkinfo"]["info_kind"] == "rveth"
        run("ip link del dev ra")
    finally:
        holder.kill()


def test_no_peer_arguments(rveth):
    ip("link add name ra type rveth")
    names = rveth_links()
    run("ip link del dev ra")
    assert "ra" in names and any(n.startswith("rveth") for n in names)


def test_show_details_and_json(rveth):
    ip("link add name ra type rveth peer name rb")
    try:
        out = ip("-d link show dev ra").stdout
        assert "ra@rb" in out and "\n    rveth " in out
        j = json.loads(ip("-d -j link show dev ra").stdout)[0]
        assert j["linkinfo"]["info_kind"] == "rveth" and j["link"] == "rb"
    finally:
        run("ip link del dev ra", check=False)


def test_help():
    p = ip("link help rveth")
    assert "type rveth [POLICY] [peer [POLICY] <options>]" in p.stdout


@pytest.mark.parametrize("args,needle", [
    ("peer", '"peer" needs options'),
    ("foo", 'unknown rveth option "foo"'),
    ("peer name rb address zz:zz", "invalid lladdr"),
    ("peer name rb mtu 70000", "MTU must be between 68 and 65535"),
    ("peer name rb type veth", '"type" is not allowed'),
])
def test_wrong_usage(rveth, args, needle):
    p = ip(f"link add name ra type rveth {args}", check=False)
    assert p.returncode != 0
    assert needle in p.stderr, p.stderr
    assert rveth_links() == []


def test_without_plugin_iproute2_refuses(rveth):
    p = ip("link add name ra type rveth peer name rb", check=False, env_plugin=False)
    if os.path.exists("/usr/lib/x86_64-linux-gnu/ip/link_rveth.so"):
        pytest.skip("plugin installed system-wide on this host")
    assert p.returncode != 0 and "Garbage instead of arguments" in p.stderr


@pytest.fixture
def overlays():
    """A writable /lib/modules/<release> for `make install`.

    virtme-ng gives the guest writable, throw-away overlays over /usr/lib and
    a tmpfs on /usr/lib/modules, where /lib/modules/<release> is a symlink
    to the host's read-only module tree. Replace the symlink by an empty
    directory for the test and put it back afterwards."""
    moddir = f"/lib/modules/{os.uname().release}"
    assert run("stat -f -c %T /usr/lib/modules").strip() == "tmpfs", "not the VM's throw-away module dir"
    target = os.readlink(moddir) if os.path.islink(moddir) else None
    if target:
        os.unlink(moddir)
        os.makedirs(moddir)
    yield
    if target:
        run(f"rm -rf {moddir}")
        os.symlink(target, moddir)


def test_make_install_autoload_uninstall(overlays):
    kdir = os.environ["RVETH_KDIR"]
    rel = open(os.path.join(kdir, "include/config/kernel.release")).read().strip()
    run(f"make -s -C {TOP} KDIR={kdir} install", timeout=300)
    assert os.path.exists(f"/lib/modules/{rel}/updates/rveth.ko")
    assert os.path.exists("/usr/lib/x86_64-linux-gnu/ip/link_rveth.so")
    unload_rveth()
    assert not module_loaded()
    # Autoload: the kernel asks modprobe for rtnl-link-rveth.
    ip("link add name al0 type rveth peer name al1", env_plugin=False)
    assert module_loaded()
    run("ip link del dev al0")
    unload_rveth()
    run("modprobe rveth")
    assert module_loaded()
    unload_rveth()
    run(f"make -s -C {TOP} KDIR={kdir} uninstall", timeout=300)
    assert not os.path.exists(f"/lib/modules/{rel}/updates/rveth.ko")
    assert not os.path.exists("/usr/lib/x86_64-linux-gnu/ip/link_rveth.so")
    assert subprocess.run("modprobe rveth", shell=True, capture_output=True).returncode != 0
    load_rveth()


def test_dkms_conf_present():
    conf = open(os.path.join(TOP, "dkms.conf")).read()
    assert 'BUILT_MODULE_NAME[0]="rveth"' in conf and "KDIR=${kernel_source_dir}" in conf
