#!/usr/bin/env bash
# Fetch Debian's linux-source-7.3, configure it from kernel/rveth.config (or
# kernel/debug.config on top of it with KCONFIG_FLAVOUR=debug) and build it with
# the pinned Rust toolchain. The result is cached outside the repo, keyed by
# kernel version, the settings of the config fragment(s), rustc version, a
# recipe number and (debug) the LLVM toolchain; a build only becomes
# visible (its directory renamed into place) once it completed.
#
# Prints the path of the ready build directory on stdout.
source "$(dirname "$0")/lib.sh"
STEP_NAME=kernel
FLAVOUR=${KCONFIG_FLAVOUR:-default}
SERIES=7.3
PKG=linux-source-$SERIES
DL=$RVETH_CACHE/download
mkdir -p "$DL"

# ---- 1. find and download the source package (verified by apt) -----------
src_deb=$(ls "$DL"/${PKG}_*.deb 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$src_deb" ]; then
	step "fetching $PKG from Debian trixie-backports (167 MB)"
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	mirror=${mirror:-http://deb.debian.org/debian}
	aptdir=$DL/apt
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	cat >"$aptdir/sources.sources" <<EOS
Types: deb
URIs: $mirror
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	aptopts=(-o "Dir::Etc::sourcelist=$aptdir/sources.sources" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" -o APT::Sandbox::User=root)
	apt-get "${aptopts[@]}" update -q >"$aptdir/update.log" 2>&1 ||
		die "apt-get update for trixie-backports failed (log $aptdir/update.log)" "check access to $mirror"
	ver=$(apt-cache "${aptopts[@]}" policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		die "Debian no longer carries $PKG in trixie-backports" \
			"put a ${PKG}_<version>_all.deb into $DL or pass KDIR=<your Rust-enabled kernel build>"
	fi
	info "version $ver (signature chain checked by apt)"
	(cd "$DL" && run_logged "$DL/download.log" apt-get "${aptopts[@]}" download "$PKG=$ver") ||
		die "download of $PKG=$ver failed" "retry; see $DL/download.log"
	src_deb=$(ls "$DL"/${PKG}_*.deb | sort -V | tail -n1)
fi
kver=$(dpkg-deb -f "$src_deb" Version)
info "source package: $(basename "$src_deb") ($kver)"

# ---- 2. cache key ----------------------------------------------------------
frags=("$RVETH_TOP/kernel/rveth.config")
[ "$FLAVOUR" = debug ] && frags+=("$RVETH_TOP/kernel/debug.config")
# The toolchain: GCC for the default flavour; LLVM for the debug flavour,
# because KASAN with CONFIG_RUST needs a clang-built kernel. Modules must be
# built with the same toolchain: the arguments are kept in the build directory
# (.rveth-kbuild-args) and every `make -C $KDIR` of the project passes them.
KBUILD_ARGS="LLVM="
if [ "$FLAVOUR" = debug ]; then
	KBUILD_ARGS="LLVM=-$LLVM_MAJOR LIBCLANG_PATH=/usr/lib/llvm-$LLVM_MAJOR/lib"
	command -v "clang-$LLVM_MAJOR" >/dev/null ||
		die "clang-$LLVM_MAJOR not found" "run KCONFIG_FLAVOUR=debug scripts/setup-host.sh"
fi
rustc_v=$(rustc +"$RUSTUP_TOOLCHAIN" --version)
# Bump when the way the kernel is built changes (make targets, flags).
BUILD_RECIPE=1
# GCC is implied for the default flavour (its key predates the toolchain line).
# Of the fragments only the settings count: editing a comment is no rebuild.
key=$( (echo "$kver"; echo "$rustc_v"; echo "recipe $BUILD_RECIPE"; [ "$FLAVOUR" = default ] || echo "$KBUILD_ARGS"
	awk '/^CONFIG_/ || /^# CONFIG_[A-Za-z0-9_]* is not set$/' "${frags[@]}") | sha256sum | cut -c1-16)
OUT=$RVETH_CACHE/kernel/$kver-$FLAVOUR-$key
if [ -f "$OUT/.rveth-complete" ] && [ -f "$OUT/arch/x86/boot/bzImage" ] && [ -f "$OUT/rust/libkernel.rmeta" ]; then
	[ -f "$OUT/.rveth-kbuild-args" ] || echo "$KBUILD_ARGS" >"$OUT/.rveth-kbuild-args"
	step "kernel cache hit: $OUT"
	echo "$OUT"
	exit 0
fi

# ---- 3. unpack (the source tree is shared by all flavours) -----------------
SRC=$RVETH_CACHE/src/linux-$kver
if [ ! -f "$SRC/.rveth-unpacked" ]; then
	step "unpacking $(basename "$src_deb")"
	rm -rf "$SRC" "$SRC.tmp"; mkdir -p "$SRC.tmp"
	dpkg -x "$src_deb" "$SRC.tmp/deb"
	tarball=$(ls "$SRC.tmp"/deb/usr/src/linux-source-*.tar.xz)
	run_logged "$SRC.tmp/untar.log" tar -C "$SRC.tmp" -xf "$tarball" ||
		die "unpacking $tarball failed (disk full?)"
	mv "$SRC.tmp"/linux-source-* "$SRC"
	rm -rf "$SRC.tmp"
	touch "$SRC/.rveth-unpacked"
fi

# ---- 4. configure and build (in a temp dir, renamed when complete) ---------
step "building kernel $kver ($FLAVOUR) into $OUT (about $([ "$FLAVOUR" = debug ] && echo 9 || echo 11) min on 2 cores)"
command -v bindgen >/dev/null || die "bindgen not found" "run scripts/setup-host.sh (make setup)"
[ -n "$LIBCLANG_PATH" ] || die "libclang not found" "run scripts/setup-host.sh (make setup)"
# Drop stale, incomplete builds of this flavour (interrupted or failed runs).
for d in "$RVETH_CACHE"/kernel/*-"$FLAVOUR"-*/; do
	[ -d "$d" ] && [ ! -f "$d/.rveth-complete" ] && [ "${d%/}" != "$OUT" ] && rm -rf "$d"
done
# Build in place; the completion marker is written last, so an interrupted or
# failed build is never reused (it is wiped on the next attempt).
TMP=$OUT
rm -rf "$TMP"; mkdir -p "$TMP"
cat "${frags[@]}" >"$TMP/fragment.config"
# shellcheck disable=SC2086 # KBUILD_ARGS is a list of make variables
kmake() { make -C "$SRC" O="$TMP" $KBUILD_ARGS RUSTC=rustc BINDGEN=bindgen "$@"; }
KCONFIG_ALLCONFIG="$TMP/fragment.config" kmake allnoconfig >"$TMP/config.log" 2>&1 ||
	{ tail -n 20 "$TMP/config.log"; die "kernel configuration failed"; }
# Every line of the fragment must have survived Kconfig; otherwise a dependency
# is missing and the tests would run on a kernel without what they need.
check_fragment "$TMP/fragment.config" "$TMP/.config" ||
	die "config fragment not fully applied" "fix the dependencies in kernel/*.config"
kmake rustavailable >"$TMP/rustavailable.log" 2>&1 ||
	{ cat "$TMP/rustavailable.log"; die "Rust is not available for the kernel build"; }
run_logged "$TMP/build.log" kmake -j"$(nproc)" bzImage modules ||
	die "kernel build failed (log: $TMP/build.log)" "fix the error above, then re-run"
# Keep what vng needs to run the kernel and to install modules into the guest.
run_logged "$TMP/modinst.log" kmake INSTALL_MOD_PATH="$TMP/modinst" INSTALL_MOD_STRIP=1 modules_install ||
	die "modules_install failed (log: $TMP/modinst.log)"
echo "$kver" >"$TMP/.rveth-kver"
echo "$KBUILD_ARGS" >"$TMP/.rveth-kbuild-args"
touch "$TMP/.rveth-complete"
step "kernel ready: $OUT"
echo "$OUT"
