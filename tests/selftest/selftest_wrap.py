# SPDX-License-Identifier: GPL-2.0
"""Harness self-test (not part of `make test`): the kernel log wraps.

The harness's reader of /dev/kmsg is paused and more than the whole log
buffer is written to the kernel log, so the oldest records of this test
are overwritten before anyone read them. The harness must notice the lost
records and fail, even though none of the lines is a splat: a scan that
went blind must not pass.
"""
import os

from conftest import klog


def log_buf_len():
    # /sys/module/printk has no size; the boot line does (run-tests.sh
    # sets log_buf_len=), else assume a default of at most 1 MiB.
    for word in open("/proc/cmdline").read().split():
        if word.startswith("log_buf_len="):
            v = word.split("=", 1)[1].upper()
            mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:], 1)
            return int(v.rstrip("KMG")) * mult
    return 1 << 20


def test_log_wraps():
    with open("/proc/sys/kernel/printk_devkmsg", "w") as f:
        f.write("on\n")  # no rate limit on writes to /dev/kmsg
    log = klog()
    log.paused = True
    try:
        line = ("harness selftest filler " + "x" * 900 + "\n").encode()
        fd = os.open("/dev/kmsg", os.O_WRONLY)
        for _ in range(2 * log_buf_len() // len(line) + 1000):
            os.write(fd, line)
        os.close(fd)
    finally:
        log.paused = False
