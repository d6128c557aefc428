# SPDX-License-Identifier: GPL-2.0
"""Permissions: CAP_NET_ADMIN, unprivileged user namespaces."""
import errno
import os

from conftest import TOP, rveth_links
from util import run

SCRIPT = f"""
import errno, sys
sys.path.insert(0, {os.path.join(TOP, 'tests', 'lib')!r})
import rtnl
def try_(**kw):
    try:
        rtnl.create_pair('up0', **kw)
        return 0
    except rtnl.NetlinkError as e:
        return e.errno
print(try_(peer={{'name': 'up1'}}), try_(peer={{'name': 'up1', 'netns_pid': 1}}))
"""


# The system interpreter: the test venv lives under /root, which nobody
# cannot enter; rtnl.py needs only the standard library.
PY = "/usr/bin/python3"


def as_nobody(cmd):
    return f"setpriv --reuid=65534 --regid=65534 --clear-groups {cmd}"


def test_needs_cap_net_admin(rveth):
    out = run(as_nobody(f"{PY} -c \"{SCRIPT}\""))
    own, init = map(int, out.split())
    assert own == errno.EPERM and init == errno.EPERM
    assert rveth_links() == []


def test_unprivileged_userns(rveth):
    # An unprivileged user in its own user+net namespace may create a pair
    # there, but not put the peer into the initial namespace (pid 1's).
    out = run(as_nobody(f"unshare -Urn {PY} -c \"{SCRIPT}\""))
    own, init = map(int, out.split())
    assert own == 0, f"creating a pair in an owned netns failed with errno {own}"
    assert init == errno.EPERM
    assert rveth_links() == []
