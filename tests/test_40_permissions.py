# SPDX-License-Identifier: GPL-2.0
"""Permissions: CAP_NET_ADMIN, unprivileged user namespaces. Every test
runs on veth and rveth (the kind fixture) with the same assertions."""
import errno
import json
import os
import subprocess
import tempfile

import rtnl
from conftest import TOP
from util import run, wait_until

SCRIPT = """
import errno, sys
sys.path.insert(0, {lib!r})
import rtnl
def try_(**kw):
    try:
        rtnl.create_pair('up0', kind={kind!r}, **kw)
        return 0
    except rtnl.NetlinkError as e:
        return e.errno
print(try_(peer={{'name': 'up1'}}), try_(peer={{'name': 'up1', 'netns_pid': 1}}))
"""


def script(kind):
    return SCRIPT.format(lib=os.path.join(TOP, "tests", "lib"), kind=kind)


def links_of(kind):
    """Names of the devices of `kind` in the initial namespace."""
    return sorted(name for _, name, k, _ in rtnl.dump_links() if k == kind)


def netns_inode(pid):
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def in_own_namespaces(pid):
    """Whether process `pid` has left the initial user and network
    namespaces (its `unshare -Urn` is done)."""
    try:
        return all(os.stat(f"/proc/{pid}/ns/{t}").st_ino != os.stat(f"/proc/1/ns/{t}").st_ino
                   for t in ("user", "net"))
    except FileNotFoundError:
        return False


# The system interpreter: the test venv lives under /root, which nobody
# cannot enter; rtnl.py needs only the standard library.
PY = "/usr/bin/python3"


def as_nobody(cmd):
    return f"setpriv --reuid=65534 --regid=65534 --clear-groups {cmd}"


def test_needs_cap_net_admin(kind):
    before = links_of(kind)
    out = run(as_nobody(f"{PY} -c \"{script(kind)}\""))
    own, init = map(int, out.split())
    assert own == errno.EPERM and init == errno.EPERM
    assert links_of(kind) == before


def test_unprivileged_userns(kind):
    # An unprivileged user in its own user+net namespace may create a pair
    # there, but not put the peer into the initial namespace (pid 1's).
    before = links_of(kind)
    out = run(as_nobody(f"unshare -Urn {PY} -c \"{script(kind)}\""))
    own, init = map(int, out.split())
    assert own == 0, f"creating a pair in an owned netns failed with errno {own}"
    assert init == errno.EPERM
    assert links_of(kind) == before


# Runs as nobody, in a user+net namespace of its own (A). argv: pid of a
# sibling unprivileged namespace (B, another user namespace of nobody's).
# Waits until the test moved the end "rb" of a root-created pair into A, then
# prints the errno of each request (0 = success).
OWNER_SCRIPT = """
import ctypes, json, os, sys, time
sys.path.insert(0, {lib!r})
import rtnl
sibling = int(sys.argv[1])
KIND = {kind!r}

def req(fn, *a, **kw):
    try:
        fn(*a, **kw)
        return 0
    except rtnl.NetlinkError as e:
        return e.errno

def move(name, pid):
    with rtnl.Rtnl() as r:
        return req(r.setlink, rtnl.link_attrs(name=name, netns_pid=pid))

# A child network namespace owned by the same user namespace (A's).
rd, wr = os.pipe()
child = os.fork()
if child == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    os.write(wr, b"0" if libc.unshare(rtnl.CLONE_NEWNET) == 0 else b"1")
    time.sleep(600)
    os._exit(0)
assert os.read(rd, 1) == b"0", "unshare(CLONE_NEWNET) in the owned user namespace failed"
print("ready", flush=True)
sys.stdin.readline()
out = {{}}
out["create_own"] = req(rtnl.create_pair, "up0", "up1", kind=KIND)
out["peer_in_sibling"] = req(rtnl.create_pair, "up2", peer={{"name": "up3", "netns_pid": sibling}}, kind=KIND)
out["peer_in_init"] = req(rtnl.create_pair, "up2", peer={{"name": "up3", "netns_pid": 1}}, kind=KIND)
out["move_to_init"] = move("up1", 1)
out["move_to_sibling"] = move("up1", sibling)
out["move_to_owned_child"] = move("up1", child)
out["up1_gone"] = int("up1" not in [l[1] for l in rtnl.dump_links()])
out["move_root_end_to_init"] = move("rb", 1)
out["move_root_end_to_sibling"] = move("rb", sibling)
with rtnl.Rtnl() as r:
    out["delete_root_end"] = req(r.dellink, name="rb")
os.kill(child, 9)
print(json.dumps(out), flush=True)
"""


def test_move_across_owners(kind):
    """Ends move only into namespaces whose owner the caller has CAP_NET_ADMIN
    over; an end handed to a container can be deleted by it (with its peer,
    as veth does), but not moved back out."""
    before = links_of(kind)
    # nobody must be able to read the script: not under pytest's tmp_path
    with tempfile.NamedTemporaryFile("w", dir="/tmp", suffix=".py", delete=False) as f:
        f.write(OWNER_SCRIPT.format(lib=os.path.join(TOP, "tests", "lib"), kind=kind))
    path = f.name
    os.chmod(path, 0o644)
    sibling = subprocess.Popen(as_nobody("unshare -Urn sleep 600").split())
    owner = None
    try:
        # The sibling's pid is in the initial namespaces until its unshare
        # is done: a request aimed at it before then would get EPERM for
        # the initial namespace, not for the sibling's.
        wait_until(lambda: in_own_namespaces(sibling.pid) or sibling.poll() is not None,
                   timeout=120, what="the sibling's unshare -Urn")
        assert sibling.poll() is None, f"the sibling exited with {sibling.returncode}"
        sibling_net = netns_inode(sibling.pid)
        owner = subprocess.Popen(as_nobody(f"unshare -Urn {PY} {path} {sibling.pid}").split(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        assert owner.stdout.readline().strip() == "ready", owner.stderr.read()
        assert in_own_namespaces(owner.pid)
        assert netns_inode(owner.pid) != sibling_net
        # root hands one end of a pair to the container (A)
        rtnl.create_pair("ra", "rb", kind=kind)
        run(f"ip link set dev rb netns {owner.pid}")
        owner.stdin.write("go\n")
        owner.stdin.flush()
        out, err = owner.communicate(timeout=600)
        assert owner.returncode == 0, err
        res = json.loads(out.strip().splitlines()[-1])
        # In-namespace operations of the owner succeed ...
        assert res["create_own"] == 0
        assert res["move_to_owned_child"] == 0 and res["up1_gone"] == 1
        assert res["delete_root_end"] == 0
        # ... everything aimed at a namespace it does not own fails with EPERM.
        for k in ("peer_in_sibling", "peer_in_init", "move_to_init", "move_to_sibling",
                  "move_root_end_to_init", "move_root_end_to_sibling"):
            assert res[k] == errno.EPERM, f"{k}: errno {res[k]}, want EPERM"
        # Deleting the container's end took root's end with it; nothing
        # landed in the initial or the sibling namespace (which still is the
        # sibling's own: only its loopback device).
        assert links_of(kind) == before
        assert netns_inode(sibling.pid) == sibling_net
        sib = run(f"nsenter -t {sibling.pid} -n ip -o link show")
        assert [l.split(":")[1].strip() for l in sib.splitlines()] == ["lo"], sib
    finally:
        for p in (owner, sibling):
            if p is not None and p.poll() is None:
                p.kill()
            if p is not None:
                p.wait()
        os.unlink(path)
        run("ip link del dev ra", check=False)
    assert links_of(kind) == before
