# SPDX-License-Identifier: GPL-2.0
"""Fault injection (debug kernel only, `make test-debug`).

Systematic failures with /proc/thread-self/fail-nth, as syzkaller does: for
n = 1, 2, ... the n-th slab or page allocation made by this thread fails
while it sends one RTM_NEWLINK for a pair (or loads the module), until a run
completes without reaching n. Each injected failure must give the caller a
clean error (or a complete pair) and leave no half-created device and no
leaked reference; kmemleak is read at the end of the suite
(debug_kmemleak.py).
"""
import ctypes
import errno
import os
import socket

from conftest import MODULE, load_rveth, module_loaded, rveth_links, sh
from util import run

import rtnl

DBG = "/sys/kernel/debug"
SYS_finit_module = 313
libc = ctypes.CDLL(None, use_errno=True)


def w(path, val):
    with open(path, "w") as f:
        f.write(f"{val}\n")


def arm_attrs():
    """Make failslab and fail_page_alloc reachable by fail-nth for every
    GFP_KERNEL allocation, silently (a stack dump per failure would read as
    a splat). User pages (__GFP_HIGHMEM) stay exempt, so the test process
    itself is not sent to the OOM killer by a failed page fault."""
    for a in ("failslab", "fail_page_alloc"):
        d = f"{DBG}/{a}"
        assert os.path.isdir(d), f"{d} missing: not a fault-injection kernel"
        w(f"{d}/verbose", 0)
        w(f"{d}/ignore-gfp-wait", "N")
    w(f"{DBG}/fail_page_alloc/min-order", 0)
    w(f"{DBG}/fail_page_alloc/ignore-gfp-highmem", "Y")


class FailNth:
    def __init__(self):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)

    def arm(self, n):
        os.write(self.fd, str(n).encode())

    def disarm(self):
        """Returns True if the armed failure was injected."""
        left = int(os.pread(self.fd, 32, 0).decode().strip() or "0")
        os.write(self.fd, b"0")
        return left == 0

    def close(self):
        os.close(self.fd)


def pair_state():
    links = sorted(rveth_links())
    if not links:
        return "none"
    assert links == ["fa0", "fa1"], f"half-created or stray devices: {links}"
    for dev in links:
        out = run(f"ethtool -S {dev}")
        assert int(out.split("peer_ifindex:")[1].split()[0]) != 0, f"{dev} has no peer"
    return "pair"


def test_newlink_under_fail_nth(rveth):
    arm_attrs()
    msg = rtnl.pair_msg(peer={"name": "fa1", "mtu": 9000}, name="fa0", mtu=9000)
    fn = FailNth()
    outcomes = {}
    injected = 0
    try:
        for n in range(1, 5000):
            r = rtnl.Rtnl()
            r.sock.settimeout(20)
            fn.arm(n)
            try:
                r.newlink(msg)
                res = "ok"
            except rtnl.NetlinkError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            except OSError as e:  # the request or its ack could not be allocated
                res = "sock-" + errno.errorcode.get(e.errno, str(e.errno))
            hit = fn.disarm()
            r.close()
            state = pair_state()
            if res == "ok":
                assert state == "pair", f"n={n}: success reported but {state}"
            elif not res.startswith("sock-"):
                assert state == "none", f"n={n}: error {res} but a pair exists"
            if state == "pair":
                run("ip link del dev fa0")
            if not hit:
                assert res == "ok" and state == "pair"
                break
            injected += 1
            outcomes[res] = outcomes.get(res, 0) + 1
        else:
            raise AssertionError("newlink never completed without a failure")
    finally:
        fn.close()
    print(f"newlink: {injected} failures injected; outcomes {outcomes}")
    assert injected > 20 and outcomes.get("ENOMEM", 0) > 0
    # The kernel and the driver still work, and no reference was leaked.
    rtnl.create_pair("fa0", "fa1")
    run("ip link del dev fa1")
    sh("rmmod rveth", timeout=300)
    load_rveth()


def test_module_load_under_fail_nth(rveth):
    arm_attrs()
    sh("rmmod rveth", timeout=300)
    fn = FailNth()
    fd = os.open(MODULE, os.O_RDONLY)
    injected = failed = 0
    try:
        for n in range(1, 5000):
            fn.arm(n)
            rc = libc.syscall(SYS_finit_module, fd, b"", 0)
            err = ctypes.get_errno()
            hit = fn.disarm()
            if rc == 0:
                assert module_loaded()
                rtnl.create_pair("fm0", "fm1")
                run("ip link del dev fm0")
                sh("rmmod rveth", timeout=300)
            else:
                failed += 1
                assert err in (errno.ENOMEM, errno.EFAULT, errno.ENOSPC, errno.EINVAL, errno.EEXIST), \
                    f"n={n}: finit_module errno {err}"
                assert not module_loaded(), f"n={n}: failed load left the module behind"
            if not hit:
                assert rc == 0
                break
            injected += 1
        else:
            raise AssertionError("module load never completed without a failure")
    finally:
        os.close(fd)
        fn.close()
        load_rveth()
    print(f"module load: {injected} failures injected, {failed} loads failed cleanly")
    assert injected > 10 and failed > 0
    rtnl.create_pair("fm0", "fm1")
    run("ip link del dev fm0")
