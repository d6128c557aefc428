# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): a fixture that fails in
setup. The test never runs and must count as failed."""
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("this setup error is the point of the harness self-test")


def test_passes():
    assert True


def test_setup_fails(broken):
    assert True
