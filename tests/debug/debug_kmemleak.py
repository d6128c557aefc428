# SPDX-License-Identifier: GPL-2.0
"""kmemleak, read after the whole suite (debug kernel only). guest-run.sh
cleared the boot-time reports, so anything listed here is new."""
import time

KML = "/sys/kernel/debug/kmemleak"


def test_no_kmemleak_reports():
    time.sleep(6)  # kmemleak ignores objects younger than 5 s
    for _ in range(2):
        with open(KML, "w") as f:
            f.write("scan\n")
    with open(KML) as f:
        report = f.read()
    leaks = report.count("unreferenced object")
    print(f"kmemleak: {leaks} unreferenced objects")
    assert leaks == 0, report[:8000]
