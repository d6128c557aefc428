# shellcheck shell=bash
# Common settings for every rveth script. Sourced, never executed.

set -euo pipefail

RVETH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything that is downloaded or built outside the repo lives here.
RVETH_CACHE=${RVETH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rveth}
RVETH_VENV=$RVETH_CACHE/venv
RVETH_TOOLS=$RVETH_CACHE/tools
export MPLCONFIGDIR=$RVETH_CACHE/matplotlib
RUSTUP_TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$RVETH_TOP/rust-toolchain.toml")
export RUSTUP_TOOLCHAIN RVETH_CACHE

# Pinned tool versions (see README "Toolchain").
BINDGEN_VERSION=0.73.2
LIBCLANG_WHEEL=18.1.1
# LLVM of the debug kernel (KASAN needs clang): Debian 12 carries clang-22,
# the LLVM major of the pinned rustc.
LLVM_MAJOR=22
VNG_VERSION=1.42

export PATH="$RVETH_TOOLS/bin:$RVETH_VENV/bin:$HOME/.cargo/bin:$PATH"
LIBCLANG_PATH=$(ls -d "$RVETH_VENV"/lib/python3*/site-packages/clang/native 2>/dev/null | head -n1 || true)
export LIBCLANG_PATH

step() { printf '\n==> [%s] %s\n' "${STEP_NAME:-rveth}" "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() {
	printf '\nERROR [%s]: %s\n' "${STEP_NAME:-rveth}" "$1" >&2
	[ $# -gt 1 ] && printf '  what to do: %s\n' "$2" >&2
	exit 1
}

# Run a long command, printing a heartbeat every 30 s and the log tail on failure.
run_logged() {
	local log=$1; shift
	"$@" >"$log" 2>&1 &
	local pid=$! t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5; t=$((t + 5))
		if [ $((t % 30)) -eq 0 ]; then
			info "... still running (${t}s): $(tail -n1 "$log" | cut -c1-100)"
		fi
	done
	if ! wait "$pid"; then
		tail -n 40 "$log" >&2
		return 1
	fi
}

sudo_if_needed() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# check_fragment FRAGMENT CONFIG: every line of a Kconfig fragment survived
# into CONFIG ("CONFIG_X=v" is there verbatim, "# CONFIG_X is not set" has
# no CONFIG_X= line). Prints what did not; returns 1 if anything.
check_fragment() {
	local line opt bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			if ! grep -qxF "$line" "$2"; then info "not applied: $line"; bad=1; fi ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" "$2"; then info "not applied: $line"; bad=1; fi ;;
		esac
	done <"$1"
	return $bad
}
