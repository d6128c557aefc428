# SPDX-License-Identifier: GPL-2.0
"""Shared fixtures for rveth's in-VM tests.

Every test is followed by a scan of the kernel log lines it produced; a
splat (BUG, WARNING, Oops, KASAN, lockdep, RCU stall, refcount, kmemleak, a
device that cannot be freed) fails that test. At the end of the session the
whole log, boot included, is scanned once more.
"""
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

TOP = os.environ.get("RVETH_TOP", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

MODULE = os.path.join(TOP, "rveth.ko")

SPLAT = re.compile(
    r"BUG[: ]|WARNING:|Oops|KASAN|UBSAN|kernel BUG|general protection fault|"
    r"rcu.*(stall|detected stalls)|INFO: task .* blocked|refcount_t:|"
    r"unreferenced object|possible circular locking|possible recursive locking|"
    r"suspicious RCU usage|inconsistent lock state|lock held when returning|"
    r"sleeping function called from invalid context|list_(add|del) corruption|"
    r"unregister_netdevice: waiting for|Call Trace:|kmemleak: .*new suspected"
)


def sh(cmd, check=True, timeout=120, **kw):
    """Run a shell command, return its stdout; raise with stderr on failure."""
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"`{cmd}` exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def sh_rc(cmd, timeout=120):
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def kernel_log():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()


# The report the allocator prints when an allocation fails (warn_alloc():
# a header line, then a stack dump ending in </TASK>). Under fault
# injection these are the expected result of an injected failure, not a
# bug: tests marked `alloc_failures_expected` skip them, and so does the
# final whole-log scan (the per-test scan of every other test still fails
# on them).
ALLOC_FAILURE = re.compile(r"page allocation failure:|vmalloc error:|: vmalloc error")


def splats(lines, skip_alloc_failures=False):
    out, skipping = [], False
    for l in lines:
        if skip_alloc_failures and ALLOC_FAILURE.search(l):
            skipping = True
        if skipping:
            if "</TASK>" in l:
                skipping = False
            continue
        if SPLAT.search(l):
            out.append(l)
    return out


def with_context(lines, bad, before=30):
    """The log around the first splat line."""
    i = lines.index(bad[0]) if bad and bad[0] in lines else len(lines)
    return "\n".join(lines[max(0, i - before):i + 40])


def module_loaded(name="rveth"):
    return os.path.isdir(f"/sys/module/{name}")


def load_rveth():
    if not module_loaded():
        sh(f"insmod {MODULE}")


def load_veth():
    """The in-tree veth, the reference rveth is compared with."""
    if module_loaded("veth"):
        return
    if subprocess.run(["modprobe", "veth"], capture_output=True).returncode != 0:
        # The project kernel's modules may not be visible to modprobe in the
        # guest; load veth.ko from the build tree instead.
        kdir = os.environ.get("RVETH_KDIR", "/nonexistent")
        path = sh(f"find {kdir} -name veth.ko 2>/dev/null | head -n1", check=False).strip()
        assert path, f"veth.ko not found under {kdir}"
        sh(f"insmod {path}")
    assert module_loaded("veth")


def unload_rveth():
    if module_loaded():
        sh("rmmod rveth", timeout=300)


def rveth_links(netns=None):
    """Names of rveth devices in a namespace."""
    pre = f"ip netns exec {netns} " if netns else ""
    out = sh(f"{pre}ip -d -o link show", check=False)
    names = []
    for line in out.splitlines():
        if " rveth " in line.split("link/")[-1] or re.search(r"\brveth\b (addrgenmode|numtxqueues)", line):
            names.append(line.split(":")[1].strip().split("@")[0])
    return names


@pytest.fixture(autouse=True)
def _kernel_log_clean(request):
    before = len(kernel_log())
    yield
    new = kernel_log()[before:]
    expected = request.node.get_closest_marker("alloc_failures_expected") is not None
    bad = splats(new, skip_alloc_failures=expected)
    if bad:
        pytest.fail(f"kernel log splat during {request.node.name}:\n{with_context(new, bad)}", pytrace=False)


@pytest.fixture
def rveth():
    """rveth.ko loaded."""
    load_rveth()
    yield


class Netns:
    def __init__(self):
        self.names = []

    def new(self, prefix="t"):
        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        sh(f"ip netns add {name}")
        sh(f"ip -n {name} link set dev lo up")
        self.names.append(name)
        return name

    def cleanup(self):
        for n in self.names:
            sh(f"ip netns del {n}", check=False)
        self.names = []


@pytest.fixture
def netns():
    ns = Netns()
    yield ns
    ns.cleanup()
    # Netns teardown is asynchronous (cleanup_net workqueue).
    time.sleep(0.2)


def pytest_configure(config):
    config.addinivalue_line("markers", "alloc_failures_expected: allocation failure reports are injected on purpose")


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselect anything
def pytest_collection_modifyitems(session, config, items):
    """Every test file named on the command line must contribute tests:
    pytest silently drops a file argument that lies under a directory
    argument (`tests tests/debug/x.py` collects tests/ only), which once
    left `make test-debug` without its fault-injection and kmemleak tests."""
    collected = {str(item.path) for item in items}
    for arg in config.args:
        path = os.path.abspath(arg.split("::")[0])
        if path.endswith(".py") and path not in collected:
            raise pytest.UsageError(f"{arg}: named on the command line but no test collected from it")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    # The whole kernel log, boot included, must be clean too.
    log = kernel_log()
    bad = splats(log, skip_alloc_failures=True)
    if bad:
        terminalreporter.write_line("kernel log check: FAILED")
        for l in with_context(log, bad).splitlines():
            terminalreporter.write_line("  " + l)
        failed += 1
    else:
        terminalreporter.write_line("kernel log check: clean")
        passed += 1
    terminalreporter.write_line(f"RVETH-RESULT: {passed} passed, {failed} failed")
