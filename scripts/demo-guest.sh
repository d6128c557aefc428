#!/bin/bash
# `make demo`, inside the VM: load rveth, create a pair across two
# namespaces, ping through it, show counters, delete, unload.
set -eu
cd "$RVETH_TOP"
say() { printf '\n$ %s\n' "$*"; "$@"; }
say insmod rveth.ko
ip netns add t1
ip netns add t2
echo
echo "# create a pair: ra in t1, rb in t2 (netlink request built by tests/lib/rtnl.py)"
"$RVETH_VENV/bin/python" -c "
import sys; sys.path.insert(0, 'tests/lib'); import rtnl, os
fd = os.open('/run/netns/t2', os.O_RDONLY)
rtnl.create_pair('ra', peer={'name': 'rb', 'netns_fd': fd}, netns='t1')"
ip -n t1 addr add 10.0.0.1/24 dev ra
ip -n t2 addr add 10.0.0.2/24 dev rb
ip -n t1 link set dev ra up
ip -n t2 link set dev rb up
say ip -n t1 -d link show dev ra
say ip netns exec t1 ping -c 3 -i 0.2 10.0.0.2
say ip -n t1 -s link show dev ra
say ip netns exec t1 ethtool -i ra
say ip netns exec t1 ethtool -S ra
say ip netns del t1
sleep 1
echo "# deleting t1 deleted the pair: t2 has $(ip -n t2 -o link show type rveth | wc -l) rveth devices"
ip netns del t2
say rmmod rveth
if dmesg | grep -E "BUG|WARNING|Oops|Call Trace"; then echo "kernel log has a splat"; exit 1; fi
echo DEMO-OK
