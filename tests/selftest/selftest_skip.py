# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): a test that skips without
being marked `skip_expected`. The run must count it as a failure, while
a marked skip with the declared reason is reported and not counted as
one."""
import pytest


def test_passes():
    assert True


def test_skips_unexpectedly():
    pytest.skip("a skip nobody declared")


@pytest.mark.skip_expected("declared: the harness must not count this one")
def test_skips_as_declared():
    pytest.skip("declared: the harness must not count this one")
