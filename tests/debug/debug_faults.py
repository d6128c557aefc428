# SPDX-License-Identifier: GPL-2.0
"""Fault injection (debug kernel only, `make test-debug`).

Systematic failures with /proc/thread-self/fail-nth, as syzkaller does: the
n-th slab or page allocation made by this thread fails while it sends one
RTM_NEWLINK for a pair (or loads the module). The allocations one request
makes are counted first (arm a far n, read back how many were left), then
failed one at a time: pair creation makes over a thousand on the debug
kernel, so the first 150 and an even spread of the rest are failed, 400 runs in
all (RVETH_FAULT_POINTS). Each injected failure must give the caller a
clean error (or a complete pair) and leave no half-created device and no
leaked reference; kmemleak is read at the end of the suite
(debug_kmemleak.py).
"""
import ctypes
import errno
import os

import pytest

from conftest import MODULE, load_rveth, module_loaded, sh
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

    def disarm_left(self):
        """Disarms; returns how many allocations were still to go before
        the failure (0: it was injected)."""
        left = int(os.pread(self.fd, 32, 0).decode().strip() or "0")
        os.write(self.fd, b"0")
        return left

    def disarm(self):
        """Returns True if the armed failure was injected."""
        return self.disarm_left() == 0

    def close(self):
        os.close(self.fd)


def pair_state():
    """'none', or 'pair' when fa0 and fa1 both exist and name each other
    (one netlink dump: no subprocess per iteration)."""
    links = {name: (index, iflink) for index, name, kind, iflink in rtnl.dump_links() if kind == "rveth"}
    if not links:
        return "none"
    assert sorted(links) == ["fa0", "fa1"], f"half-created or stray devices: {sorted(links)}"
    assert links["fa0"][1] == links["fa1"][0] and links["fa1"][1] == links["fa0"][0], \
        f"ends do not name each other: {links}"
    return "pair"


def fault_points(total, dense=150, budget=int(os.environ.get("RVETH_FAULT_POINTS") or 400)):
    """Which n to fail: every one of the first `dense`, then evenly spread
    over the rest so that at most `budget` runs are made (a pair creation
    on the debug kernel makes over a thousand allocations, one run is about
    a second under emulation)."""
    if total <= budget:
        return list(range(1, total + 1))
    rest = budget - dense
    step = (total - dense) / rest
    return list(range(1, dense + 1)) + sorted({dense + 1 + int(i * step) for i in range(rest)})


def newlink_once(fn, msg, n):
    """Sends msg with the n-th allocation failing (n=0: none); returns
    (result, fail-nth count left)."""
    r = rtnl.Rtnl()
    r.sock.settimeout(20)
    if n:
        fn.arm(n)
    try:
        r.newlink(msg)
        res = "ok"
    except rtnl.NetlinkError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
    except OSError as e:  # the request or its ack could not be allocated
        res = "sock-" + errno.errorcode.get(e.errno, str(e.errno))
    left = fn.disarm_left() if n else 0
    r.close()
    return res, left


@pytest.mark.alloc_failures_expected
def test_newlink_under_fail_nth(rveth):
    arm_attrs()
    msg = rtnl.pair_msg(peer={"name": "fa1", "mtu": 9000}, name="fa0", mtu=9000)
    fn = FailNth()
    outcomes = {}
    try:
        # How many allocations one creation makes: arm far away, read back.
        big = 10 ** 7
        res, left = newlink_once(fn, msg, big)
        assert res == "ok" and pair_state() == "pair"
        with rtnl.Rtnl() as rd:
            rd.dellink(name="fa0")
        total = big - left
        points = fault_points(total)
        print(f"newlink: {total} fault points, failing {len(points)} of them", flush=True)
        for i, n in enumerate(points):
            res, left = newlink_once(fn, msg, n)
            state = pair_state()
            if left:
                # Not reached: this run made fewer allocations than the
                # counting run (caches warm up); it must simply succeed.
                assert res == "ok" and state == "pair", f"n={n} not reached, yet {res}/{state}"
            if res == "ok":
                assert state == "pair", f"n={n}: success reported but {state}"
            elif not res.startswith("sock-"):
                assert state == "none", f"n={n}: error {res} but a pair exists"
            if state == "pair":
                with rtnl.Rtnl() as rd:
                    rd.dellink(name="fa0")
            key = res if not left else "not-reached"
            outcomes[key] = outcomes.get(key, 0) + 1
            if i % 100 == 99:
                print(f"newlink: {i + 1}/{len(points)} runs, outcomes so far {outcomes}", flush=True)
    finally:
        fn.close()
    injected = len(points) - outcomes.get("not-reached", 0)
    print(f"newlink: {injected} failures injected ({total} allocation points); outcomes {outcomes}")
    assert outcomes.get("ENOMEM", 0) > 0
    # The kernel and the driver still work, and no reference was leaked.
    rtnl.create_pair("fa0", "fa1")
    run("ip link del dev fa1")
    sh("rmmod rveth", timeout=300)
    load_rveth()


def load_once(fn, fd, n):
    """finit_module with the n-th allocation failing (n=0: none); returns
    (rc, errno, fail-nth count left)."""
    if n:
        fn.arm(n)
    rc = libc.syscall(SYS_finit_module, fd, b"", 0)
    err = ctypes.get_errno()
    left = fn.disarm_left() if n else 0
    return rc, err, left


@pytest.mark.alloc_failures_expected
def test_module_load_under_fail_nth(rveth):
    """The allocations of one load are counted, then failed one at a time:
    all of them when there are at most RVETH_MODLOAD_POINTS (default 100;
    0 = all), else the first 40 and an even spread of the rest (a load of
    the KASAN-instrumented module takes seconds under emulation)."""
    arm_attrs()
    sh("rmmod rveth", timeout=300)
    fn = FailNth()
    fd = os.open(MODULE, os.O_RDONLY)
    budget = int(os.environ.get("RVETH_MODLOAD_POINTS") or 100)
    injected = failed = absorbed = 0
    try:
        big = 10 ** 7
        rc, err, left = load_once(fn, fd, big)
        assert rc == 0 and module_loaded(), f"counting load failed: errno {err}"
        sh("rmmod rveth", timeout=300)
        total = big - left
        points = fault_points(total, dense=40, budget=budget) if budget else list(range(1, total + 1))
        print(f"module load: {total} allocation points, failing {len(points)} of them", flush=True)
        for n in points:
            rc, err, left = load_once(fn, fd, n)
            if rc == 0:
                # Loaded although the n-th allocation failed (a fallback
                # absorbed it) or was not reached: it must work and unload.
                assert module_loaded()
                rtnl.create_pair("fm0", "fm1")
                run("ip link del dev fm0")
                sh("rmmod rveth", timeout=300)
                absorbed += left == 0
            else:
                failed += 1
                assert left == 0, f"n={n}: load failed (errno {err}) without the injected failure"
                assert err in (errno.ENOMEM, errno.EFAULT, errno.ENOSPC, errno.EINVAL, errno.EEXIST), \
                    f"n={n}: finit_module errno {err}"
                assert not module_loaded(), f"n={n}: failed load left the module behind"
            injected += left == 0
    finally:
        os.close(fd)
        fn.close()
        load_rveth()
    print(f"module load: {injected} failures injected ({total} allocation points), "
          f"{failed} loads failed cleanly, {absorbed} absorbed and the module worked")
    assert injected > 10 and failed > 0
    rtnl.create_pair("fm0", "fm1")
    run("ip link del dev fm0")
