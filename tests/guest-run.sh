#!/bin/bash
# Runs inside the test VM (virtme-ng): the host's filesystem is visible, so
# the repo and the Python venv are used in place. Prints pytest's report and
# a final "RVETH-RESULT: N passed, M failed" line that the host parses.
set -u
cd "$RVETH_TOP" || exit 2
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
mount -t tmpfs none /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs none /run/netns; } || true
# Make sure the guest can see cgroup v1 net_cls for the classid tests.
sysctl -qw kernel.printk="4 4 1 7" 2>/dev/null || true
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
if [ "${RVETH_STRESS:-}" = full ] && [ -w /sys/kernel/debug/kmemleak ]; then
	# Debug run: forget what kmemleak suspects from boot, so that
	# tests/debug/debug_kmemleak.py sees only what the suite leaked.
	echo scan >/sys/kernel/debug/kmemleak && echo clear >/sys/kernel/debug/kmemleak
	echo "guest: kmemleak baseline cleared"
fi
echo "guest: kernel $(uname -r), $(nproc) CPUs, tests: ${RVETH_TESTS:-tests}"
# RVETH_PYTEST_ARGS and RVETH_TESTS are shell words (quotes allowed).
eval "extra=(${RVETH_PYTEST_ARGS:-})"
eval "tests=(${RVETH_TESTS:-tests})"
timeout "${RVETH_PYTEST_TIMEOUT:-4000}" "$RVETH_VENV/bin/python" -m pytest -p no:cacheprovider \
	-o console_output_style=classic -v -rfE --rootdir="$RVETH_TOP" -c /dev/null \
	"${extra[@]}" "${tests[@]}"
rc=$?
[ $rc -eq 124 ] && echo "RVETH-RESULT: 0 passed, 1 failed (pytest timed out)"
exit $rc
