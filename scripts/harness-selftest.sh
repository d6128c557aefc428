#!/usr/bin/env bash
# Proves that `make test` fails when it must: a failing test, a kernel
# WARNING in the guest log, a kernel that does not boot, a guest that
# hangs, and a test file pytest would silently drop each have to give a
# non-zero exit. Not part of `make test`.
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
"$RVETH_TOP/scripts/setup-host.sh" >/dev/null
expect_failure failing-test RVETH_TESTS=tests/selftest/selftest_fail.py
expect_failure kernel-warning RVETH_TESTS=tests/selftest/selftest_warn.py
# pytest drops a file named after a directory that contains it.
expect_failure dropped-file RVETH_TESTS="tests/selftest tests/selftest/selftest_pass.py"
garbage=$RVETH_CACHE/garbage-bzImage
head -c 4M /dev/urandom >"$garbage"
expect_failure no-boot RVETH_BZIMAGE="$garbage" RVETH_VM_TIMEOUT=120 RVETH_KVM=0
expect_failure hang RVETH_GUEST_CMD="sleep 100000" RVETH_VM_TIMEOUT=60
[ $fails -eq 0 ] && echo "harness self-test: all 5 cases failed as they must" || echo "harness self-test: $fails case(s) did not fail"
exit $fails
