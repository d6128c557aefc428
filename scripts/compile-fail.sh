#!/usr/bin/env bash
# Proves that misuses of src/net's safe API do not compile (see
# tests/compile_fail/README.md). The module is built in a scratch copy of the
# tree against KDIR: once with each tests/compile_fail/*.rs as
# `mod compile_fail` (or appended to the file its "// into:" line names).
# ok_*.rs must build; every other file must fail with the error its
# "// expect:" line names, and that error's report must point into the
# case's own file.
#
# usage: compile-fail.sh <KDIR>
source "$(dirname "$0")/lib.sh"
STEP_NAME=compile-fail
KDIR=$1
work=$(mktemp -d "$RVETH_CACHE/compile-fail.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$RVETH_TOP" && git ls-files -co --exclude-standard -z -- Kbuild Makefile src scripts rust-toolchain.toml |
	xargs -0 tar -cf - | tar -xf - -C "$work")
args=$(cat "$KDIR/.rveth-kbuild-args" 2>/dev/null || true)
bad=0 n=0
for case in "$RVETH_TOP"/tests/compile_fail/*.rs; do
	name=$(basename "$case" .rs)
	expect=$(sed -n '1s|^// expect: ||p' "$case")
	[ -n "$expect" ] || { echo "compile-fail: $name has no '// expect:' first line"; bad=1; continue; }
	into=$(sed -n '2s|^// into: ||p' "$case")
	# A compile-time assertion of the layer reports where it is written:
	# "// at: <file>" names that file instead of the case's.
	at=$(sed -n '2s|^// at: ||p' "$case")
	(cd "$RVETH_TOP" && cp src/*.rs "$work/src/")
	echo '#[allow(dead_code, unused_imports, unused_variables)] mod compile_fail;' >>"$work/src/rveth_main.rs"
	if [ -n "$into" ]; then
		echo '' >"$work/src/compile_fail.rs"
		cat "$case" >>"$work/$into"
		target=$into
	else
		cp "$case" "$work/src/compile_fail.rs"
		target=${at:-src/compile_fail.rs}
	fi
	rm -f "$work/src/rveth_main.o"
	n=$((n + 1))
	# shellcheck disable=SC2086
	if make -C "$KDIR" M="$work" $args modules >"$work/$name.log" 2>&1; then
		built=1
	else
		built=0
	fi
	case "$name" in
	ok_*)
		if [ $built = 1 ]; then
			echo "compile-fail: $name builds (positive control)"
		else
			echo "compile-fail: $name FAILED to build (the harness or the API is broken):"
			grep -E -A6 '^error' "$work/$name.log" | head -30
			bad=1
		fi
		;;
	*)
		if [ $built = 1 ]; then
			echo "compile-fail: $name BUILT, but it is a misuse that must not compile"
			bad=1
		elif ! grep -E -m1 '^error' "$work/$name.log" | grep -Eq "$expect"; then
			echo "compile-fail: $name failed, but its first error is not /$expect/:"
			grep -E -A6 '^error' "$work/$name.log" | head -30
			bad=1
		elif ! RE="$expect" F="$target" awk '
				found && /^(error|warning)/ { exit }
				/^error/ && $0 ~ ENVIRON["RE"] { found = 1 }
				found && index($0, "--> " ENVIRON["F"]) { ok = 1 }
				found && index($0, ENVIRON["F"] ":") { ok = 1 }
				END { exit !ok }' "$work/$name.log"; then
			echo "compile-fail: $name failed, but its error does not point into $target:"
			grep -E -A6 '^error' "$work/$name.log" | head -30
			bad=1
		else
			echo "compile-fail: $name refused: $(grep -E -m1 "$expect" "$work/$name.log")"
		fi
		;;
	esac
done
[ "$n" -gt 1 ] || { echo "compile-fail: no cases found"; exit 1; }
exit $bad
