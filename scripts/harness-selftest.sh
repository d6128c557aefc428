#!/usr/bin/env bash
# Proves that `make test` fails when it must: a failing test, a kernel
# WARNING in the guest log, a kernel that does not boot, a guest that
# hangs, and a test file pytest would silently drop each have to give a
# non-zero exit; the kernel config check must catch a dropped line.
# Not part of `make test`.
source "$(dirname "$0")/lib.sh"
STEP_NAME=harness-selftest
run=$RVETH_TOP/scripts/run-tests.sh
fails=0
expect_failure() { # name, then env assignments
	local name=$1; shift
	step "case: $name (must fail)"
	if env "$@" RVETH_SKIP_SETUP=1 "$run" >"$RVETH_CACHE/selftest-$name.log" 2>&1; then
		echo "    FAIL: the harness exited 0 for '$name'"; fails=$((fails + 1))
	else
		echo "    ok: non-zero exit; last line: $(tail -n1 "$RVETH_CACHE/selftest-$name.log")"
	fi
}
# The kernel build's config check (no VM): a fragment line Kconfig dropped,
# or a "# CONFIG_X is not set" that Kconfig turned on, must be reported,
# and a fragment that survived must pass. (Until 2026-11-25 the "is not
# set" form was never matched, so such a line could not fail.)
config_check() {
	local dir=$RVETH_CACHE/selftest-config ok=1
	mkdir -p "$dir"
	printf 'CONFIG_A=y\n# CONFIG_B is not set\n' >"$dir/fragment"
	printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n' >"$dir/good"
	printf 'CONFIG_A=y\nCONFIG_B=y\n' >"$dir/turned-on"
	printf '# CONFIG_A is not set\n' >"$dir/dropped"
	check_fragment "$dir/fragment" "$dir/good" 2>/dev/null || ok=0
	check_fragment "$dir/fragment" "$dir/turned-on" 2>/dev/null && ok=0
	check_fragment "$dir/fragment" "$dir/dropped" 2>/dev/null && ok=0
	return $((1 - ok))
}
step "case: config-check (a kept fragment passes, a dropped or turned-on line fails)"
if config_check; then echo "    ok"; else echo "    FAIL: check_fragment"; fails=$((fails + 1)); fi
"$RVETH_TOP/scripts/setup-host.sh" >/dev/null
expect_failure failing-test RVETH_TESTS=tests/selftest/selftest_fail.py
expect_failure kernel-warning RVETH_TESTS=tests/selftest/selftest_warn.py
# pytest drops a file named after a directory that contains it.
expect_failure dropped-file RVETH_TESTS="tests/selftest tests/selftest/selftest_pass.py"
garbage=$RVETH_CACHE/garbage-bzImage
head -c 4M /dev/urandom >"$garbage"
expect_failure no-boot RVETH_BZIMAGE="$garbage" RVETH_VM_TIMEOUT=120 RVETH_KVM=0
expect_failure hang RVETH_GUEST_CMD="sleep 100000" RVETH_VM_TIMEOUT=60
[ $fails -eq 0 ] && echo "harness self-test: all 6 cases behaved as they must" || echo "harness self-test: $fails case(s) did not behave as they must"
exit $fails
