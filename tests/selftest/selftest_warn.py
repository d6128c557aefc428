# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): a kernel WARNING in the log.

The test itself passes; the harness must still fail the run because the
kernel log gained a WARNING splat. The line is injected through /dev/kmsg
(this kernel has no LKDTM to provoke a real WARN from user space), which
puts it in the same kernel log the harness scans.
"""


def test_kernel_warns():
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write("WARNING: CPU: 0 PID: 1 at selftest/harness.c:1 injected_by_harness_selftest+0x0/0x0\n")
