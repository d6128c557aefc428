#!/usr/bin/env bash
# Proves that `make test` fails when it must, and for the reason provoked:
# a failing test, a kernel WARNING in the guest log (counted once), an
# undeclared skip, a run that stopped early, a kernel log that wrapped
# before it was read, a test file pytest would silently drop, a kernel
# that does not boot and a guest that hangs each have to give a non-zero
# exit with their own message; a clean run must exit 0 (positive control);
# the kernel config check must catch a dropped line. Not part of `make
# test` (`make test-harness`, about 12 VM boots).
# RVETH_SELFTEST_ONLY=regex runs only the cases whose name matches (the
# result line then says how many cases were left out).
source "$(dirname "$0")/lib.sh"
STEP_NAME=harness-selftest
run=$RVETH_TOP/scripts/run-tests.sh
fails=0 cases=0 left_out=0
# selected NAME: whether RVETH_SELFTEST_ONLY selects case NAME.
selected() {
	[ -z "${RVETH_SELFTEST_ONLY:-}" ] && return 0
	grep -Eq -- "$RVETH_SELFTEST_ONLY" <<<"$1" && return 0
	left_out=$((left_out + 1))
	return 1
}
# expect_failure NAME REASONS ENV...: the run must exit non-zero, and its
# output must match every extended regex of REASONS (separated by ";;"; a
# leading "!" means must not match): a run that fails for another reason
# than the one the case provokes does not prove anything.
expect_failure() {
	local name=$1 reasons=$2 r ok=1; shift 2
	selected "$name" || return 0
	cases=$((cases + 1))
	local out=$RVETH_CACHE/selftest-$name.log
	step "case: $name (must fail: $reasons)"
	if env "$@" RVETH_SKIP_SETUP=1 "$run" >"$out" 2>&1; then
		echo "    FAIL: the harness exited 0 for '$name'"; fails=$((fails + 1)); return
	fi
	IFS=$'\n' read -r -d '' -a rs < <(sed 's/;;/\n/g' <<<"$reasons"; printf '\0') || true
	for r in "${rs[@]}"; do
		[ -z "$r" ] && continue
		if [ "${r:0:1}" = "!" ]; then
			grep -aEq -- "${r:1}" "$out" && { echo "    FAIL: output matches /${r:1}/"; ok=0; }
		else
			grep -aEq -- "$r" "$out" || { echo "    FAIL: output does not match /$r/"; ok=0; }
		fi
	done
	if [ $ok = 1 ]; then
		echo "    ok: non-zero exit for the reason provoked; last line: $(tail -n1 "$out")"
	else
		tail -n 5 "$out" | sed 's/^/      /'; fails=$((fails + 1))
	fi
}
# expect_success NAME LAST-LINE ENV...: the positive control. A clean run
# must exit 0 and end with exactly LAST-LINE.
expect_success() {
	local name=$1 want=$2; shift 2
	selected "$name" || return 0
	cases=$((cases + 1))
	local out=$RVETH_CACHE/selftest-$name.log
	step "case: $name (must pass with \"$want\")"
	if ! env "$@" RVETH_SKIP_SETUP=1 "$run" >"$out" 2>&1; then
		echo "    FAIL: exit non-zero; last line: $(tail -n1 "$out")"; fails=$((fails + 1))
	elif [ "$(tail -n1 "$out")" != "$want" ]; then
		echo "    FAIL: last line \"$(tail -n1 "$out")\""; fails=$((fails + 1))
	else
		echo "    ok: exit 0, $want"
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
if selected config-check; then
	cases=$((cases + 1))
	step "case: config-check (a kept fragment passes, a dropped or turned-on line fails)"
	if config_check; then echo "    ok"; else echo "    FAIL: check_fragment"; fails=$((fails + 1)); fi
fi
"$RVETH_TOP/scripts/setup-host.sh" >/dev/null
# A passing file: exit 0 with its one test and the kernel log check.
expect_success clean-run "2 passed, 0 failed" RVETH_TESTS=tests/selftest/selftest_pass.py
# test_fails_on_purpose fails; the two others and the log check pass.
expect_failure failing-test "^3 passed, 1 failed$;;test_fails_on_purpose FAILED" \
	RVETH_TESTS=tests/selftest/selftest_fail.py
# The test passes, the splat fails it in teardown: counted once, as
# failed, and the whole-log check fails as well.
expect_failure kernel-warning "kernel log splat during test_kernel_warns;;^0 passed, 2 failed$" \
	RVETH_TESTS=tests/selftest/selftest_warn.py
# A skip nobody declared is a failure; a declared one is not.
expect_failure unexpected-skip "SKIPPED \(unexpected: counted as failed\): .*test_skips_unexpectedly;;!unexpected.*test_skips_as_declared;;^2 passed, 1 failed$" \
	RVETH_TESTS=tests/selftest/selftest_skip.py
# A fixture that fails in setup, and a file with a test defined twice.
expect_failure setup-error "ERROR at setup of test_setup_fails;;^2 passed, 1 failed$" \
	RVETH_TESTS=tests/selftest/selftest_setup.py
expect_failure defined-twice "test functions defined twice" RVETH_TESTS=tests/selftest/selftest_dup.py
# pytest stops early (-x): a selected test without an outcome.
expect_failure stopped-early "test count check: FAILED \(3 tests selected, 2 have an outcome\)" \
	RVETH_TESTS=tests/selftest/selftest_fail.py RVETH_PYTEST_ARGS=-x
# Nothing selected (-k matches no test).
expect_failure no-test "the VM ran no test" RVETH_TESTS=tests/selftest/selftest_pass.py RVETH_PYTEST_ARGS="-k nomatch"
# More than the log buffer is written while the reader is paused: the
# test and the final scan both report the lost records.
expect_failure log-wrap "kernel log records lost during test_log_wraps;;kernel log check: FAILED, [0-9]+ records lost" \
	RVETH_TESTS=tests/selftest/selftest_wrap.py
# pytest drops a file named after a directory that contains it.
expect_failure dropped-file "named on the command line but no test collected" \
	RVETH_TESTS="tests/selftest tests/selftest/selftest_pass.py"
garbage=$RVETH_CACHE/garbage-bzImage
head -c 4M /dev/urandom >"$garbage"
# RVETH_TESTS names a test in both: without it the host checks run too,
# and bench_report (no data from the VM) would fail the run by itself.
expect_failure no-boot "the VM did not boot: the guest never started;;^0 passed, 1 failed$" \
	RVETH_TESTS=tests/selftest/selftest_pass.py RVETH_BZIMAGE="$garbage" RVETH_VM_TIMEOUT=120 RVETH_KVM=0
expect_failure hang "VM timed out after 60s;;^0 passed, 1 failed$" \
	RVETH_TESTS=tests/selftest/selftest_pass.py RVETH_GUEST_CMD="sleep 100000" RVETH_VM_TIMEOUT=60
extra=
[ $left_out -gt 0 ] && extra=" ($left_out left out by RVETH_SELFTEST_ONLY)"
[ $fails -eq 0 ] && echo "harness self-test: all $cases cases behaved as they must$extra" || echo "harness self-test: $fails of $cases case(s) did not behave as they must$extra"
exit $fails
