#!/usr/bin/env bash
# Install everything the host needs to build the kernel and the module and to
# run the VM tests. Idempotent: every step checks before it acts.
source "$(dirname "$0")/lib.sh"
STEP_NAME=setup

APT_PKGS=(
	# kernel build
	flex bison bc libelf-dev libssl-dev cpio kmod xz-utils dwarves
	# VM: qemu for vng, udev so vng's guest finds its virtio-serial ports
	qemu-system-x86 udev
	# userland the guest borrows from the host
	iproute2 iputils-ping ethtool iperf3 procps psmisc socat
	python3-venv python3-pip
	# iproute2 plugin build (libmnl headers are not needed; plain C)
	pkg-config
	# `make test` builds the module through DKMS once (scripts/dkms-check.sh)
	dkms
	# XDP tests: BPF programs built at test time, loaded with ip/bpftool or
	# tests/xdp/meta_loader.c (built with gcc against libbpf)
	clang-$LLVM_MAJOR libbpf-dev bpftool xdp-tools gcc
	# the kernel's udpgro.sh and udpgro_fwd.sh (tests/test_59_kselftest.py;
	# udpgro_fwd.sh reads `ip -j` output with jq)
	iptables jq
)
# The debug kernel is built with LLVM (KASAN with Rust needs clang).
if [ "${KCONFIG_FLAVOUR:-default}" = debug ]; then
	APT_PKGS+=(clang-$LLVM_MAJOR lld-$LLVM_MAJOR llvm-$LLVM_MAJOR)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	sudo_if_needed apt-get update -q >/dev/null ||
		die "apt-get update failed" "check network access to the Debian mirror"
	sudo_if_needed apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed" "run: apt-get install ${missing[*]}"
else
	step "apt: all ${#APT_PKGS[@]} packages present"
fi

step "rust: toolchain $RUSTUP_TOOLCHAIN with rust-src, clippy, rustfmt"
command -v rustup >/dev/null || die "rustup not found" "install rustup from https://rustup.rs"
if ! rustup toolchain list | grep -q "^$RUSTUP_TOOLCHAIN"; then
	rustup toolchain install --profile minimal "$RUSTUP_TOOLCHAIN" >/dev/null ||
		die "rustup toolchain install $RUSTUP_TOOLCHAIN failed"
fi
rustup component add --toolchain "$RUSTUP_TOOLCHAIN" rust-src clippy rustfmt >/dev/null 2>&1 ||
	die "rustup component add rust-src failed" "check network access to static.rust-lang.org"

if [ ! -x "$RVETH_VENV/bin/python" ]; then
	step "python: creating venv $RVETH_VENV"
	mkdir -p "$RVETH_CACHE"
	python3 -m venv "$RVETH_VENV" || die "python3 -m venv failed" "apt-get install python3-venv"
fi
want="virtme-ng==$VNG_VERSION libclang==$LIBCLANG_WHEEL pytest pyroute2 matplotlib pyyaml jsonschema"
if [ "$(cat "$RVETH_VENV/.rveth-pkgs" 2>/dev/null)" != "$want" ]; then
	step "python: pip install $want"
	# shellcheck disable=SC2086
	run_logged "$RVETH_CACHE/pip.log" "$RVETH_VENV/bin/pip" install -q $want ||
		die "pip install failed (log: $RVETH_CACHE/pip.log)" "check network access to PyPI"
	echo "$want" >"$RVETH_VENV/.rveth-pkgs"
else
	step "python: venv up to date"
fi
LIBCLANG_PATH=$(ls -d "$RVETH_VENV"/lib/python3*/site-packages/clang/native | head -n1)
# matplotlib builds its font cache on its first import. Build it here, once,
# for bench/report.py's chart (`make bench`, make test's bench_report check).
if ! ls "$MPLCONFIGDIR"/fontlist-*.json >/dev/null 2>&1; then
	step "python: building matplotlib's font cache in $MPLCONFIGDIR"
	mkdir -p "$MPLCONFIGDIR"
	"$RVETH_VENV/bin/python" -c "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot" ||
		die "matplotlib does not import" "see $RVETH_CACHE/pip.log"
fi

if ! "$RVETH_TOOLS/bin/bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	step "bindgen: cargo install bindgen-cli $BINDGEN_VERSION (about 75 s)"
	run_logged "$RVETH_CACHE/bindgen-install.log" \
		cargo +"$RUSTUP_TOOLCHAIN" install --locked --root "$RVETH_TOOLS" bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed" "see $RVETH_CACHE/bindgen-install.log"
else
	step "bindgen: $BINDGEN_VERSION present"
fi
step "host setup done (libclang: $LIBCLANG_PATH)"
