#!/usr/bin/env bash
# Deterministic profile of the pktgen rows (bench/qprof/qprof.c): boots the
# test kernel under TCG with the plugin and reports instructions, TBs and
# expensive TB exits per packet for veth and rveth. Not part of `make test`
# or `make bench`; needs gcc and, for the report, capstone (installed into
# the project's venv on first use).
#   bench/qprof/run.sh [ROWS] [COUNT]
#     (ROWS: comma-separated, of pktgen, gro, xdp_drop, xdp_pass, xdp_tx, xdp_redirect,
#      scale: COUNT pairs created, per pair)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
source "$TOP/scripts/lib.sh"
ROWS=${1:-pktgen,xdp_drop}
COUNT=${2:-50000}
W=$RVETH_CACHE/qprof
[ -n "${RVETH_SKIP_SETUP:-}" ] || "$TOP/scripts/setup-host.sh"
# qprof.c declares the plugin API version 1 calls it uses (QEMU 7.2).
qemu-system-x86_64 --version | grep -q "version 7\.2" ||
	die "bench/qprof needs QEMU 7.2 (plugin API version 1)" "install Debian bookworm's qemu-system-x86"
rm -rf "$W" && mkdir -p "$W/bin" "$W/out"
gcc -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden -o "$W/qprof.so" "$TOP/bench/qprof/qprof.c" -lpthread
: >"$W/out/ctl"
QEMU=$(command -v qemu-system-x86_64)
# vng finds QEMU on PATH; the wrapper adds the plugin.
printf '#!/bin/sh\nexec %s -plugin %s,ctl=%s "$@"\n' "$QEMU" "$W/qprof.so" "$W/out/ctl" >"$W/bin/qemu-system-x86_64"
chmod +x "$W/bin/qemu-system-x86_64"
"$RVETH_VENV/bin/python" -c "import capstone" 2>/dev/null ||
	"$RVETH_VENV/bin/pip" install -q capstone
# TCG only: under KVM the plugin sees no translation blocks.
PATH=$W/bin:$PATH RVETH_KVM=0 RVETH_SKIP_SETUP=1 RVETH_VNG_ARGS="--rwdir=$W/out" \
	RVETH_GUEST_CMD="python3 $TOP/bench/qprof/guest.py --dir $W/out --rows $ROWS --count $COUNT" \
	make -C "$TOP" --no-print-directory bench || true
grep -q QPROF-DONE "$RVETH_CACHE/vm-bench.log" || die "the profiling run did not finish (log: $RVETH_CACHE/vm-bench.log)"
"$RVETH_VENV/bin/python" "$TOP/bench/qprof/report.py" "$W/out" "$COUNT" "$ROWS"
