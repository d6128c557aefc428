# SPDX-License-Identifier: GPL-2.0
"""Helpers for the stress tests: scale, background traffic, namespaces.

RVETH_STRESS=full (set by `make test-debug`) runs the counts the hardening
issue asks for; the default is a smaller run that keeps `make test` short
but exercises the same code, so the tests cannot rot.
"""
import multiprocessing
import os
import signal
import subprocess
import sys

FULL = os.environ.get("RVETH_STRESS", "") == "full"


def scale(small, full):
    return full if FULL else small


# A UDP flooder (arguments: address, port and optionally the one CPU to run
# on) that runs until SIGTERM and prints "sent errors" on exit. Errors (no
# route, device gone, a full send buffer) are expected while the pair is
# being changed under it; it keeps going. A datagram the pair drops is sent
# as far as sendto() says (UDP hides ENOBUFS unless IP_RECVERR is set).
FLOOD = r"""
import os, signal, socket, sys
dst, port = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    os.sched_setaffinity(0, {int(sys.argv[3])})
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
sent = err = 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
payload = b'x' * 64
print('ready', flush=True)
while not stop:
    try:
        s.sendto(payload, (dst, port)); sent += 1
    except OSError:
        err += 1
        if err % 64 == 0:
            import time; time.sleep(0.001)
print(sent, err, flush=True)
"""

# A UDP sink that counts datagrams until SIGTERM and prints the count.
SINK = r"""
import signal, socket, sys
port = int(sys.argv[1])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(('0.0.0.0', port)); s.settimeout(0.2)
got = 0
print('ready', flush=True)
while not stop:
    try:
        s.recv(2048); got += 1
    except (socket.timeout, InterruptedError):
        pass
print(got, flush=True)
"""


class Proc:
    """A Python snippet running in a namespace until stopped."""

    def __init__(self, ns, code, *args):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, *map(str, args)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        assert line == "ready", f"helper did not start: {line!r} {self.p.stderr.read()}"

    def stop(self):
        """Stop it and return the numbers it printed."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=60)
        assert self.p.returncode == 0, f"helper failed: {err}"
        return [int(x) for x in out.split()]


class Traffic:
    """Floods both ways over a pair made by util.make_pair (10.9.0.1 in
    ns_a, 10.9.0.2 in ns_b) and counts what arrives at each side."""

    def __init__(self, ns_a, ns_b, port=7100):
        self.sinks = [Proc(ns_b, SINK, port), Proc(ns_a, SINK, port)]
        self.floods = [Proc(ns_a, FLOOD, "10.9.0.2", port), Proc(ns_b, FLOOD, "10.9.0.1", port)]

    def stop(self):
        """Returns (sent a->b, sent b->a, received at b, received at a)."""
        sent = [f.stop()[0] for f in self.floods]
        got = [s.stop()[0] for s in self.sinks]
        return sent[0], sent[1], got[0], got[1]


class Pinger:
    """`ping -f` from a namespace: echo requests one way, replies the other."""

    def __init__(self, ns, dst):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "ping", "-f", "-q", dst],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def run_workers(target, args_list, timeout):
    """Runs target(*args, q) in one process per args tuple; each worker puts
    one tuple on q whose last element is None or an error text. Returns the
    tuples, after asserting that no worker failed."""
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=(*args, q)) for args in args_list]
    for p in procs:
        p.start()
    results = [q.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r[-1] for r in results if r[-1]]
    assert not errors, errors
    return results
