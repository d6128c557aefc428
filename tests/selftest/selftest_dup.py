# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): a test function defined
twice. Python keeps the second definition only, so the first (failing)
one would never run; the harness must refuse the file."""


def test_twice():
    assert False, "shadowed by the definition below"


def test_twice():  # noqa: F811
    assert True
