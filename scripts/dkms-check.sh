#!/usr/bin/env bash
# Builds rveth through DKMS, as a DKMS user would get it, against the given
# kernel build tree, in a private DKMS tree (nothing is registered on the
# host). Used by `make test` on the host, before the VM runs.
#
# usage: dkms-check.sh <KDIR>
source "$(dirname "$0")/lib.sh"
STEP_NAME=dkms
KDIR=$1
command -v dkms >/dev/null || die "dkms not installed" "apt-get install dkms"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$RVETH_TOP/dkms.conf")
rel=$(cat "$KDIR/include/config/kernel.release")
work=$(mktemp -d "$RVETH_CACHE/dkms.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/rveth-$ver" "$work/tree"
# The sources as a release would ship them: tracked and new files, no build
# products.
(cd "$RVETH_TOP" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -xf - -C "$work/src/rveth-$ver")
opts=(-m rveth -v "$ver" -k "$rel" --kernelsourcedir "$KDIR" --dkmstree "$work/tree" --sourcetree "$work/src")
dkms add "${opts[@]}" >"$work/add.log" 2>&1 || { cat "$work/add.log"; exit 1; }
if ! dkms build "${opts[@]}" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	find "$work/tree" -name make.log -exec tail -n 30 {} \;
	exit 1
fi
ko=$(find "$work/tree/rveth/$ver/$rel" -name 'rveth.ko*' | head -n1)
[ -n "$ko" ] || { echo "dkms build produced no rveth.ko"; exit 1; }
modinfo -F alias "$ko" | grep -qx "rtnl-link-rveth" || { echo "$ko lacks the rtnl-link-rveth alias"; exit 1; }
echo "dkms: built $(basename "$ko") $ver for $rel"
