# SPDX-License-Identifier: GPL-2.0
"""One short iteration of `make bench`, so the benchmark cannot rot.

It checks that every row is measured for veth and rveth with plausible
values and that the report's tables render (the host renders its chart
from the data this test leaves in RVETH_VM_OUT); it asserts nothing about speed
(performance is judged in `make bench`, never in a timed test)."""
import json
import os
import subprocess
import sys

from conftest import TOP, load_rveth


def test_bench_one_iteration(rveth):
    p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "bench_guest.py"), "--rounds", "1",
                        "--seconds", "1", "--pktgen-count", "20000", "--rr-count", "100",
                        "--scale-pairs", "20", "--scale-rounds", "1"],
                       capture_output=True, text=True,
                       # The KASAN kernel (make test-debug) took 10 min before
                       # the marked row was added; the default kernel ~2 min
                       # then, up to 11 min with the GRO and scale rows (the
                       # UDP GSO forwarding rows add four short runs).
                       timeout=3600 if os.environ.get("RVETH_STRESS") == "full" else 1800)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "BENCH-REFUSED" not in p.stdout
    text = p.stdout.split("BENCH-JSON-BEGIN", 1)[1].split("BENCH-JSON-END", 1)[0]
    data = json.loads(text)
    sys.path.insert(0, os.path.join(TOP, "bench"))
    import report
    # The marked row went through rveth's metadata path, per CPU.
    mc = data["meta"]["marked_rveth_counters"]
    assert mc["tx_meta_mark"] > 0 and mc["tx_meta_mark_cleared"] == mc["tx_meta_mark"], mc
    assert mc["tx_meta_priority"] > 0 and mc["tx_meta_priority_cleared"] == mc["tx_meta_priority"], mc
    # The GRO rows ran through both drivers' NAPI queues.
    napi = data["meta"]["gro_napi_packets"]
    assert napi["veth"] > 0 and napi["rveth"] > 0, napi
    # The XDP_PASS row ran through both drivers' programs.
    xp = data["meta"]["xdp_pass_packets"]
    assert xp["veth"] > 0 and xp["rveth"] > 0, xp
    rows = report.summarize(data)
    assert {r.split(" [")[0] for r, _, _ in rows} == set(report.row_metrics(data))
    assert "scale: 20 pairs, 2+2 queues per end" in data["rows"]
    assert len(report.gains(data)) == 4
    # The UDP GSO forwarding rows forwarded one datagram per packet with GRO
    # off (1342 bytes at the dummy: 1300 of payload, UDP, IP and Ethernet
    # headers), and GRO aggregated datagrams on both drivers.
    fwd = report.fwd_bytes_per_packet(data)
    assert set(fwd) == {"veth", "rveth"}, fwd
    for kind, (off, on) in fwd.items():
        assert abs(off - 1342) < 1 and on > 2 * 1342, (kind, fwd)
    for label, stats, ratio in rows:
        assert {"veth", "rveth"} <= set(stats), label
        if "lost" not in label:
            assert stats["veth"][0] > 0 and stats["rveth"][0] > 0, label
            assert ratio is not None and ratio > 0, label
    # The report's tables. Its chart is rendered on the host, from the
    # data left in RVETH_VM_OUT (scripts/run-tests.sh, host check
    # bench_report): rendering it in the guest took 5 min 26 s on the
    # default kernel and ran out of 25 min on the KASAN kernel.
    # Every row is in both tables, with its ratio.
    analysis = report.analyze(data)
    table = report.table(data, analysis).splitlines()
    md = report.markdown(data, analysis).splitlines()
    for d in analysis:
        ratio = "n/a" if d["ratio"] is None else f"{d['ratio']:.3f}"
        assert any(x.startswith(d["label"]) and ratio in x for x in table), d["label"]
        md_label = "| " + d["label"].replace("us ", "µs ")
        assert any(x.startswith(md_label) and ratio in x for x in md), d["label"]
    load_rveth()
    # Last: only a passing test leaves its data for the host.
    if os.environ.get("RVETH_VM_OUT"):
        with open(os.path.join(os.environ["RVETH_VM_OUT"], "bench-smoke.json"), "w") as f:
            f.write(text)
