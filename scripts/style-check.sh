#!/usr/bin/env bash
# Style of the Rust sources, as the kernel checks its own (`make rustfmtcheck`
# with the kernel tree's .rustfmt.toml), plus what rustfmt does not enforce:
# no line over 100 columns (comments included), and the layering rule that
# only src/net may use `unsafe` or the raw bindings.
#
# usage: style-check.sh <KDIR>
source "$(dirname "$0")/lib.sh"
STEP_NAME=style
KDIR=$1
cfg=$KDIR/source/.rustfmt.toml
[ -f "$cfg" ] || cfg=$KDIR/.rustfmt.toml
[ -f "$cfg" ] || die "no .rustfmt.toml in $KDIR (source/)"
cd "$RVETH_TOP"
bad=0
# rustfmt follows the `mod` declarations from the crate root.
if ! out=$(rustfmt --edition 2021 --config-path "$cfg" --check src/rveth_main.rs 2>&1); then
	echo "style: rustfmt would change:"; echo "$out" | head -60; bad=1
fi
long=$(git ls-files -co --exclude-standard -- 'src/*.rs' 'src/net/*.rs' | grep -v bindings_generated |
	xargs awk 'length > 100 { printf "%s:%d: %d columns\n", FILENAME, FNR, length }')
if [ -n "$long" ]; then echo "style: lines over 100 columns:"; echo "$long"; bad=1; fi
# Every Rust file outside src/net is driver code. The crate root holds
# module! (whose expansion is unsafe, so it cannot forbid unsafe_code for
# the crate): it may not contain `unsafe` itself.
for f in $(git ls-files -co --exclude-standard -- 'src/*.rs' | grep -v '^src/net/' | grep -v '^src/net\.rs$'); do
	if [ "$f" = src/rveth_main.rs ]; then
		if grep -nw 'unsafe' "$f" | grep -Ev '^[0-9]+:\s*//'; then echo "style: $f uses unsafe"; bad=1; fi
	elif ! grep -q '^#!\[forbid(unsafe_code)\]' "$f"; then
		echo "style: $f does not forbid unsafe_code"; bad=1
	fi
	if grep -n 'bindings' "$f"; then
		echo "style: $f names the raw bindings (only src/net may; the module is private to it)"; bad=1
	fi
done
[ $bad = 0 ] && echo "style: rustfmt clean, no line over 100 columns, driver modules free of unsafe and raw bindings"
exit $bad
