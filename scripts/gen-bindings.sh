#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Generate Rust bindings for the netdev headers rveth needs, from the target
# kernel's own headers, with the exact bindgen command line Kbuild used for the
# kernel crate's bindings (saved in rust/bindings/.bindings_generated.rs.cmd):
# same clang flags, same bindgen parameters, so the layouts match whatever
# kernel and configuration the module is built against.
#
# usage: gen-bindings.sh <kernel objtree> <input header> <output .rs>
set -eu
objtree=$1
header=$(realpath "$2")
out=$(realpath -m "$3")
cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd

if [ ! -f "$cmdfile" ]; then
	echo "gen-bindings: $cmdfile not found: is $objtree a built, Rust-enabled kernel tree (CONFIG_RUST=y)?" >&2
	exit 1
fi

# savedcmd_<target> := bindgen <input> <params> -o <output> -- <clang flags>; sed ...
cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
# Keep only the bindgen invocation (drop the kernel's post-processing sed).
cmd=${cmd%%; sed*}
# Kbuild writes '#' as $(pound) in saved commands.
cmd=$(printf '%s' "$cmd" | sed 's/\$(pound)/#/g')
case "$cmd" in
*rust/bindings/bindings_helper.h*) ;;
*) echo "gen-bindings: unexpected command in $cmdfile" >&2; exit 1 ;;
esac
cmd=$(printf '%s' "$cmd" |
	sed -e "s#[^ ]*rust/bindings/bindings_helper.h#$header#" \
	    -e "s#-o rust/bindings/bindings_generated.rs#-o $out.tmp#" \
	    -e "s#-Wp,-MMD,rust/bindings/.bindings_generated.rs.d#-Wp,-MMD,$out.d#")

(cd "$objtree" && eval "$cmd")

# `cfi_encoding` is an unstable attribute a module crate may not enable; the
# kernel's bindgen parameters add it for a few enums used in indirect calls.
# Constants defined in the helper header as RVETH_CONST_<NAME> become <NAME>.
sed -E -e '/#\[cfi_encoding *=/d' \
	-e 's/pub const RVETH_CONST_([a-zA-Z0-9_]*)/pub const \1/g' \
	"$out.tmp" >"$out"
rm -f "$out.tmp"
