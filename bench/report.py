# SPDX-License-Identifier: GPL-2.0
"""Render a benchmark run: terminal table, raw JSON, PNG chart of ratios.

usage: report.py <vm log or json> <output dir>
"""
import json
import os
import statistics
import sys

# row -> (metric, unit, higher_is_better)
METRICS = {
    "pktgen 64B crossing": [("mpps", "Mpps", True), ("ns_per_pkt", "ns/pkt", False)],
    "UDP 64B pps": [("kpps", "kpps", True)],
    "TCP stream": [("gbit_s", "Gbit/s", True)],
    "TCP stream MTU 65535": [("gbit_s", "Gbit/s", True)],
    "TCP RR": [("p50_us", "us p50", False), ("p99_us", "us p99", False)],
    "UDP RR": [("p50_us", "us p50", False), ("p99_us", "us p99", False)],
    "2 senders UDP 64B": [("kpps", "kpps", True), ("lost_pct", "% lost", False)],
    "2 senders UDP 64B marked": [("kpps", "kpps", True), ("lost_pct", "% lost", False)],
}


def load(path):
    text = open(path, errors="replace").read()
    if "BENCH-JSON-BEGIN" in text:
        text = text.split("BENCH-JSON-BEGIN", 1)[1].split("BENCH-JSON-END", 1)[0]
    return json.loads(text.strip())


def summarize(data):
    """[(row label, unit, {kind: (median, min, max)}, ratio)]; ratio is rveth's
    performance relative to veth: > 1 is better, for every metric."""
    out = []
    for row, metrics in METRICS.items():
        samples = data["rows"].get(row)
        if not samples:
            continue
        for key, unit, higher in metrics:
            stats = {}
            for kind, vals in samples.items():
                xs = [v[key] for v in vals]
                stats[kind] = (statistics.median(xs), min(xs), max(xs))
            v, r = stats["veth"][0], stats["rveth"][0]
            if key == "lost_pct":
                ratio = None
            elif higher:
                ratio = r / v if v else float("nan")
            else:
                ratio = v / r if r else float("nan")
            out.append((f"{row} [{unit}]", stats, ratio))
    return out


def table(data, rows):
    m = data["meta"]
    lines = [f"kernel {m['kernel']}, {m['cpus']} vCPUs, {m['emulated']}; {m['rounds']} rounds, "
             f"{m['seconds']} s per sample; medians (min..max)",
             f"{'row':34} {'veth':>22} {'rveth':>22} {'lo':>14} {'rveth/veth':>10}"]
    for label, st, ratio in rows:
        def cell(k, w):
            if k not in st:
                return " " * w
            med, lo, hi = st[k]
            return f"{med:.3g} ({lo:.3g}..{hi:.3g})".rjust(w)
        rs = "   n/a" if ratio is None else f"{ratio:10.3f}"
        lines.append(f"{label:34} {cell('veth', 22)} {cell('rveth', 22)} {cell('lo', 14)} {rs}")
    lines.append("rveth/veth: rveth's performance relative to veth (> 1 better; latencies "
                 "and ns/pkt inverted)")
    return "\n".join(lines)


def chart(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in rows if r[2] is not None]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    labels = [r[0] for r in rows]
    ratios = [r[2] for r in rows]
    ax.barh(labels, ratios, color=["tab:green" if x >= 0.98 else "tab:red" for x in ratios])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvline(0.98, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel("rveth / veth (higher is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    data = load(src)
    rows = summarize(data)
    text = table(data, rows)
    print(text)
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(data, f, indent=1)
    with open(os.path.join(outdir, "bench.txt"), "w") as f:
        f.write(text + "\n")
    chart(rows, os.path.join(outdir, "bench.png"))
    print(f"raw samples: {outdir}/bench.json, chart: {outdir}/bench.png")


if __name__ == "__main__":
    main()
