# SPDX-License-Identifier: GPL-2.0
"""The distribution's `ip` with rveth's plugin; make install, autoload."""
import json
import os
import subprocess
import tempfile

import pytest

from conftest import TOP, load_rveth, module_loaded, rveth_links, unload_rveth
from util import link, run, wait_until

import rtnl

PLUGIN_DIR = os.path.join(TOP, "iproute2")


def ip(args, check=True, env_plugin=True, lib_dir=None):
    """The real `ip`; IP_LIB_DIR (where it looks for link_<kind>.so) is the
    build tree's plugin directory, `lib_dir` if given, or the system's
    (env_plugin=False)."""
    env = dict(os.environ)
    if lib_dir is not None:
        env["IP_LIB_DIR"] = lib_dir
    elif env_plugin:
        env["IP_LIB_DIR"] = PLUGIN_DIR
    p = subprocess.run(f"ip {args}", shell=True, capture_output=True, text=True, env=env, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"ip {args}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def links_of(kind):
    """Names of the devices of `kind` in the initial namespace."""
    return sorted(name for _, name, k, _ in rtnl.dump_links() if k == kind)


def test_issue_example(kind, netns):
    t1 = netns.new("t1")
    ip(f"link add name ra type {kind} peer name rb netns {t1}")
    try:
        assert link(None, "ra")["linkinfo"]["info_kind"] == kind
        assert link(t1, "rb")["linkinfo"]["info_kind"] == kind
        run("ip addr add 10.7.0.1/24 dev ra && ip link set dev ra up")
        run(f"ip -n {t1} addr add 10.7.0.2/24 dev rb && ip -n {t1} link set dev rb up")
        out = run("ping -c 3 -i 0.2 -W 30 10.7.0.2", timeout=300)
        assert "3 packets transmitted, 3 received" in out, out
    finally:
        run("ip link del dev ra", check=False)


def test_options_on_both_sides(kind, netns):
    t1, t2 = netns.new("t1"), netns.new("t2")
    ip(f"link add name ra netns {t2} address 02:00:00:00:0a:01 mtu 9000 txqueuelen 42 type {kind} "
       f"peer name rb netns {t1} address 02:00:00:00:0b:01 mtu 1400 txqueuelen 17")
    a, b = link(t2, "ra"), link(t1, "rb")
    assert (a["address"], a["mtu"], a["txqlen"]) == ("02:00:00:00:0a:01", 9000, 42)
    assert (b["address"], b["mtu"], b["txqlen"]) == ("02:00:00:00:0b:01", 1400, 17)
    # Both ends are where they were asked to be, none in the initial namespace.
    assert run("ip -o link show dev ra", check=False) == ""
    assert run("ip -o link show dev rb", check=False) == ""


def test_peer_netns_by_pid(kind, netns):
    t1 = netns.new("t1")
    holder = subprocess.Popen(["ip", "netns", "exec", t1, "sleep", "600"])
    try:
        # `ip netns exec` enters t1 and then execs sleep: until then the pid
        # is in the initial namespace and the peer would land there.
        want = os.stat(f"/run/netns/{t1}").st_ino

        def in_t1():
            assert holder.poll() is None, f"the holder exited with {holder.returncode}"
            try:
                return os.stat(f"/proc/{holder.pid}/ns/net").st_ino == want
            except FileNotFoundError:
                return False
        wait_until(in_t1, timeout=120, what="the holder process to enter the namespace")
        ip(f"link add name ra type {kind} peer name rb netns {holder.pid}")
        assert link(t1, "rb")["linkinfo"]["info_kind"] == kind
        assert link(None, "ra")["linkinfo"]["info_kind"] == kind
        assert run("ip -o link show dev rb", check=False) == ""
    finally:
        run("ip link del dev ra", check=False)
        holder.kill()
        holder.wait()


def test_no_peer_arguments(kind):
    # The peer gets the kind's default name, KIND%d, in the same namespace.
    before = links_of(kind)
    try:
        ip(f"link add name ra type {kind}")
        new = sorted(set(links_of(kind)) - set(before))
    finally:
        run("ip link del dev ra", check=False)
    assert len(new) == 2 and "ra" in new, new
    peer = [n for n in new if n != "ra"][0]
    assert peer.startswith(kind) and peer[len(kind):].isdigit(), peer
    assert links_of(kind) == before


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
    """Without link_rveth.so, `ip` does not know the peer syntax: it sends
    no request and says so. IP_LIB_DIR names an empty directory, so a
    plugin installed system-wide (make install, or the host's root seen by
    the guest) is not found either."""
    before = rveth_links()
    with tempfile.TemporaryDirectory() as empty:
        try:
            p = ip("link add name ra type rveth peer name rb", check=False, lib_dir=empty)
            after = rveth_links()
        finally:
            run("ip link del dev ra", check=False)
    assert p.returncode != 0, p.stdout
    assert 'Garbage instead of arguments "peer ..."' in p.stderr, p.stderr
    assert after == before, f"ip created {sorted(set(after) - set(before))}"


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

