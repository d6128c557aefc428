# SPDX-License-Identifier: GPL-2.0
"""Shared fixtures for rveth's in-VM tests.

Every test is followed by a scan of the kernel log lines it produced; a
splat (BUG, WARNING, Oops, KASAN, lockdep, RCU stall, refcount, kmemleak, a
device that cannot be freed) fails that test. At the end of the session the
whole log, boot included, is scanned once more.
"""
import json
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


class KernelLog:
    """The kernel log, read record by record from /dev/kmsg.

    A daemon thread drains /dev/kmsg all through the session, so a test
    that makes the kernel print more than the log buffer holds does not
    lose records before they are scanned. If records are lost anyway
    (/dev/kmsg returns EPIPE, or the sequence numbers jump), `lost` says
    how many and between which records: the per-test scan and the final
    scan fail on that, they do not go blind. (Slicing `dmesg` output by
    line index, as this harness once did, sees nothing at all once the
    buffer wraps.)"""

    def __init__(self):
        import threading
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        self.records = []  # (seq, text) of every record read, in order
        self.lost = []  # (after seq, records lost) for every gap seen
        self.next_seq = None
        self.lock = threading.Lock()
        self.paused = False
        self.drain()
        t = threading.Thread(target=self._run, daemon=True)
        t.start()

    def _run(self):
        while True:
            time.sleep(0.1)
            if not self.paused:
                self.drain()

    def drain(self):
        """Read every record the kernel has now; returns the last seq."""
        with self.lock:
            while True:
                try:
                    buf = os.read(self.fd, 8192)
                except BlockingIOError:
                    break
                except BrokenPipeError:
                    # Records were overwritten before they were read; the
                    # next read returns the oldest record still there and
                    # the gap shows in its sequence number.
                    continue
                head, _, body = buf.decode(errors="replace").partition(";")
                seq = int(head.split(",")[1])
                want = 0 if self.next_seq is None else self.next_seq
                if seq != want:
                    self.lost.append((want, seq - want))
                self.next_seq = seq + 1
                # The message is the first line; continuation lines (" KEY=v")
                # are dictionary entries. Escaped newlines stay escaped.
                self.records.append((seq, body.split("\n", 1)[0]))
            return (self.next_seq or 0) - 1

    def mark(self):
        """A position: the records after it are what happened since."""
        return self.drain()

    def since(self, mark):
        self.drain()
        with self.lock:
            lines = [t for s, t in self.records if s > mark]
            lost = [(a, n) for a, n in self.lost if a + n > mark]
        return lines, lost

    def all(self):
        return self.since(-1)


KLOG = None


def klog():
    global KLOG
    if KLOG is None:
        KLOG = KernelLog()
    return KLOG


def kernel_log():
    """Every kernel log line of this boot that is still known."""
    return klog().all()[0]


def kernel_log_since(mark):
    return klog().since(mark)[0]


def lost_message(lost):
    return "; ".join(f"{n} records lost after record {a - 1}" for a, n in lost)


# The report the allocator prints when an allocation fails (warn_alloc():
# a header line, then a stack dump ending in </TASK>). Under fault
# injection these are the expected result of an injected failure, not a
# bug: tests marked `alloc_failures_expected` skip them, and so does the
# final whole-log scan (the per-test scan of every other test still fails
# on them).
ALLOC_FAILURE = re.compile(r"page allocation failure:|vmalloc error:|: vmalloc error")


# What an allocation failure report never contains: inside one, these
# still count (records of a report on another CPU may interleave).
NOT_ALLOC_FAILURE = re.compile(
    r"BUG[: ]|WARNING:|Oops|KASAN|UBSAN|general protection fault|refcount_t:|"
    r"unreferenced object|possible (circular|recursive) locking|suspicious RCU usage|"
    r"inconsistent lock state|list_(add|del) corruption|unregister_netdevice: waiting for"
)


def splats(lines, skip_alloc_failures=False):
    out, skipping = [], False
    for l in lines:
        if skip_alloc_failures and ALLOC_FAILURE.search(l):
            skipping = True
        if skipping:
            if "</TASK>" in l:
                skipping = False
            if NOT_ALLOC_FAILURE.search(l):
                out.append(l)
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


def load_kernel_module(name):
    """Loads in-tree module `name` with modprobe, or, as the project
    kernel's modules may not be visible to modprobe in the guest, its .ko
    from the kernel's build tree."""
    if subprocess.run(["modprobe", name], capture_output=True).returncode != 0:
        kdir = os.environ.get("RVETH_KDIR", "/nonexistent")
        path = sh(f"find {kdir} -name {name}.ko 2>/dev/null | head -n1", check=False).strip()
        assert path, f"{name}.ko not found under {kdir}"
        sh(f"insmod {path}")


def load_veth():
    """The in-tree veth, the reference rveth is compared with."""
    if module_loaded("veth"):
        return
    load_kernel_module("veth")
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
    mark = klog().mark()
    yield
    new, lost = klog().since(mark)
    if lost:
        pytest.fail(f"kernel log records lost during {request.node.name} "
                    f"({lost_message(lost)}): the scan cannot vouch for them", pytrace=False)
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
            # XDP programs come off now, while nothing runs: left attached,
            # they would come off in the namespace's asynchronous teardown,
            # perhaps while the next test runs XDP; every detach re-patches
            # bpf_dispatcher_xdp_func, and doing that while another vCPU
            # runs XDP crashed the emulated VM (int3 Oops, QEMU TCG).
            out = subprocess.run(["ip", "-n", n, "-j", "link", "show"], capture_output=True,
                                 text=True)
            for dev in json.loads(out.stdout or "[]"):
                if "xdp" in dev:
                    sh(f"ip -n {n} link set dev {dev['ifname']} xdp off", check=False)
            sh(f"ip netns del {n}", check=False)
        self.names = []


@pytest.fixture
def netns():
    ns = Netns()
    yield ns
    ns.cleanup()
    # Netns teardown is asynchronous (cleanup_net workqueue).
    time.sleep(0.2)


KINDS = ("veth", "rveth")


@pytest.fixture(params=KINDS)
def kind(request):
    """Runs the test once per kind, veth first: the in-tree veth is the
    oracle, rveth must pass the same assertions. A test that takes this
    fixture counts as one behaviour compared with veth when it ran on
    both kinds (summary line)."""
    if request.param == "veth":
        load_veth()
    else:
        load_rveth()
    ORACLE_RUNS.add(request.node.nodeid)
    return request.param


# Behaviours compared with veth, as (test file, test, label), and per
# test id the outcomes of the runs that make each comparison.
COMPARED = {}
CURRENT = {"item": None}
# Test ids that ran through the `kind` fixture (a test that parametrizes
# a `kind` argument of its own, with assertions that differ per kind, is
# not counted as a comparison).
ORACLE_RUNS = set()


def same_as_veth(label, rveth_value, veth_value):
    """Asserts that rveth gave what veth gave for the same commands, and
    counts `label` as a behaviour compared with veth."""
    item = CURRENT["item"]
    assert rveth_value == veth_value, f"{label}: rveth gave {rveth_value!r}, veth gave {veth_value!r}"
    if item is not None:
        key = (str(item.path), item.originalname, label)
        COMPARED.setdefault(key, set()).add(item.nodeid)


def pytest_runtest_setup(item):
    CURRENT["item"] = item
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "kind" in params:
        others = tuple(sorted((k, repr(v)) for k, v in params.items() if k != "kind"))
        key = (str(item.path), item.originalname, others)
        COMPARED.setdefault(key, set()).add(item.nodeid)


# Final outcome of every test id: a test is failed if any phase failed
# (a splat found by the teardown scan fails a test whose call passed, and
# it is then counted once, as failed), skipped if a phase skipped. Only a
# call that pytest reports as passed is a pass; xfail and any outcome a
# plugin may invent count as failed (this suite uses neither).
OUTCOME = {}
SKIP_REASON = {}
RANK = {"passed": 0, "skipped": 1, "failed": 2}
SELECTED = {"count": None}
COLLECT_ERRORS = []


def pytest_runtest_logreport(report):
    if report.failed or hasattr(report, "wasxfail"):
        outcome = "failed"
    elif report.skipped:
        outcome = "skipped"
        if isinstance(report.longrepr, tuple):
            SKIP_REASON[report.nodeid] = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.when == "call" and report.passed:
        outcome = "passed"
    elif report.when == "call":
        outcome = "failed"
    else:
        OUTCOME.setdefault(report.nodeid, None)
        return
    old = OUTCOME.get(report.nodeid)
    if old is None or RANK[outcome] > RANK[old]:
        OUTCOME[report.nodeid] = outcome


def pytest_collectreport(report):
    """A file that fails to import must fail the run by name, also under
    --continue-on-collection-errors."""
    if report.failed:
        COLLECT_ERRORS.append(report.nodeid)


def pytest_collection_finish(session):
    SELECTED["count"] = len(session.items)


def pytest_configure(config):
    config.addinivalue_line("markers", "alloc_failures_expected: allocation failure reports are injected on purpose")
    config.addinivalue_line("markers", "skip_expected(reason): this test may skip with exactly this reason; any other skip is a failure")


def test_functions(path):
    """Names of the test functions a test file defines (module level and
    Test* classes), read from its source."""
    import ast
    import collections
    tree = ast.parse(open(path).read(), path)
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names += [f"{node.name}.{f.name}" for f in node.body
                      if isinstance(f, ast.FunctionDef) and f.name.startswith("test")]
    dups = [n for n, c in collections.Counter(names).items() if c > 1]
    if dups:
        raise pytest.UsageError(f"{path}: test functions defined twice (only the last runs): {dups}")
    return {n.split(".")[-1] for n in names}


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselect anything
def pytest_collection_modifyitems(session, config, items):
    """Every test file named on the command line must contribute tests:
    pytest silently drops a file argument that lies under a directory
    argument (`tests tests/debug/x.py` collects tests/ only), which once
    left `make test-debug` without its fault-injection and kmemleak tests.
    And every test function a collected file defines must have been
    collected (a function shadowed by another of the same name, or one
    whose parametrization came out empty, does not run)."""
    collected = {str(item.path) for item in items}
    for arg in config.args:
        path = os.path.abspath(arg.split("::")[0])
        if path.endswith(".py") and path not in collected:
            raise pytest.UsageError(f"{arg}: named on the command line but no test collected from it")
    if any("::" in arg for arg in config.args):
        return
    for path in collected:
        names = {item.originalname for item in items if str(item.path) == path}
        missing = test_functions(path) - names
        if missing:
            raise pytest.UsageError(f"{path}: test functions defined but not collected: {sorted(missing)}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    w = terminalreporter.write_line
    out = {k: v for k, v in OUTCOME.items() if v is not None}
    passed = sorted(k for k, v in out.items() if v == "passed")
    failed = sorted(k for k, v in out.items() if v == "failed")
    skipped = sorted(k for k, v in out.items() if v == "skipped")
    items = {i.nodeid: i for i in getattr(terminalreporter._session, "items", [])}
    def declared(k):
        m = items[k].get_closest_marker("skip_expected") if k in items else None
        return m is not None and m.args and SKIP_REASON.get(k) == m.args[0]
    expected_skips = [k for k in skipped if declared(k)]
    for k in skipped:
        w(f"SKIPPED{'' if k in expected_skips else ' (unexpected: counted as failed)'}: {k}: "
          f"{SKIP_REASON.get(k, '?')}")
    bad_skips = [k for k in skipped if k not in expected_skips]
    nfailed = len(failed) + len(bad_skips)
    npassed = len(passed)
    # Every selected test must have an outcome: a run that stopped early
    # (-x, a crash of the test process, an interrupted session) has fewer.
    selected = SELECTED["count"] or 0
    if len(out) != selected:
        w(f"test count check: FAILED ({selected} tests selected, {len(out)} have an outcome)")
        nfailed += 1
    for c in COLLECT_ERRORS:
        w(f"collection error: {c}")
    nfailed += len(COLLECT_ERRORS)
    # The whole kernel log, boot included, must be clean too. Deferred
    # work of the last tests (namespace cleanup, device unregistration)
    # must have finished first: unloading the modules waits for it, and a
    # record written to the log marks the point the scan must reach.
    for mod in ("rveth", "veth"):
        if module_loaded(mod):
            rc, _, err = sh_rc(f"rmmod {mod}", timeout=600)
            if rc != 0:
                w(f"final unload: FAILED, rmmod {mod}: {err.strip()}")
                nfailed += 1
    sentinel = f"rveth-harness: end of run {uuid.uuid4().hex}"
    with open("/dev/kmsg", "w") as f:
        f.write(sentinel + "\n")
    try:
        from util import wait_until
        wait_until(lambda: any(sentinel in t for t in kernel_log()[-5000:]), 30, what="the end-of-run log record")
    except AssertionError as e:
        w(f"kernel log check: FAILED, {e}")
        nfailed += 1
    log, lost = klog().all()
    bad = splats(log, skip_alloc_failures=True)
    if lost:
        w(f"kernel log check: FAILED, {lost_message(lost)}")
        nfailed += 1
    elif bad:
        w("kernel log check: FAILED")
        for l in with_context(log, bad).splitlines():
            w("  " + l)
        nfailed += 1
    else:
        w(f"kernel log check: clean ({len(log)} records)")
        npassed += 1
    # A behaviour counts as compared with veth when every run that makes
    # the comparison (both kinds, or the test that compared) passed.
    compared = sum(1 for key, ids in COMPARED.items()
                   if all(out.get(i) == "passed" for i in ids)
                   and (isinstance(key[2], str) or (len(ids) == len(KINDS) and ids <= ORACLE_RUNS)))
    w(f"RVETH-SUMMARY: {npassed} passed, {nfailed} failed, {len(skipped)} skipped "
      f"({len(bad_skips)} unexpected), {compared} behaviours compared with veth, {selected} selected")
    w(f"RVETH-RESULT: {npassed} passed, {nfailed} failed")
