#!/bin/bash
# `make demo`, inside the VM: load rveth, create a pair with the real `ip`
# command (the README's first lines), ping across it, show counters, delete,
# unload, and check the kernel log written since the demo started.
set -eu
cd "$RVETH_TOP"
say() { printf '\n$ %s\n' "$*"; "$@"; }

# Everything the kernel logs from here on is this demo's: the splat check
# at the end reads only the records after the last such marker.
MARKER="rveth-demo: start $$"
echo "$MARKER" >/dev/kmsg

say insmod rveth.ko
say ip netns add t1
echo
echo "# iproute2 loads link_rveth.so (built by 'make plugin') from IP_LIB_DIR;"
echo "# after 'make install' the same commands work without it."
printf '\n$ export IP_LIB_DIR=%s\n' "$RVETH_TOP/iproute2"
export IP_LIB_DIR=$RVETH_TOP/iproute2
say ip link add name ra type rveth peer name rb netns t1
say ip addr add 10.0.0.1/24 dev ra
say ip -n t1 addr add 10.0.0.2/24 dev rb
say ip link set dev ra up
say ip -n t1 link set dev rb up
say ip -d link show dev ra
say ip -n t1 link show dev rb
say ping -c 3 -i 0.2 10.0.0.2
say ip -s link show dev ra
say ethtool -i ra
say ethtool -S ra
say ip netns del t1
sleep 1
echo "# deleting t1 deleted rb and with it ra: $(ip -o link show type rveth | wc -l) rveth devices left"
say rmmod rveth

# The kernel log since the marker, checked with tests/conftest.py's SPLAT
# patterns (kept in sync by hand).
SPLAT='BUG[: ]|WARNING:|Oops|KASAN|UBSAN|kernel BUG|general protection fault|'
SPLAT+='rcu.*(stall|detected stalls)|INFO: task .* blocked|refcount_t:|'
SPLAT+='unreferenced object|possible circular locking|possible recursive locking|'
SPLAT+='suspicious RCU usage|inconsistent lock state|lock held when returning|'
SPLAT+='sleeping function called from invalid context|list_(add|del) corruption|'
SPLAT+='unregister_netdevice: waiting for|Call Trace:|kmemleak: .*new suspected'
klog=$(dmesg | awk -v m="$MARKER" 'index($0, m) { buf = ""; seen = 1; next } seen { buf = buf $0 "\n" } END { if (!seen) exit 1; printf "%s", buf }') ||
	{ echo "the demo's marker is not in the kernel log (log buffer wrapped?)"; exit 1; }
echo
echo "# kernel log since the demo started ($(printf '%s' "$klog" | grep -c '') lines):"
printf '%s\n' "$klog" | sed 's/^/  /'
if printf '%s\n' "$klog" | grep -E "$SPLAT"; then
	echo "kernel log has a splat"
	exit 1
fi
echo "# no BUG/WARNING/Oops/KASAN/lockdep/RCU/refcount/kmemleak line since the demo started"
echo DEMO-OK
