# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): a test that fails."""


def test_passes():
    assert True


def test_fails_on_purpose():
    assert 1 == 2, "this failure is the point of the harness self-test"


def test_after_the_failure():
    # With `-x` pytest stops before this test: the harness must notice
    # that a selected test has no outcome.
    assert True
