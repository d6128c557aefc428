# SPDX-License-Identifier: GPL-2.0
"""Render a benchmark run: terminal table, raw JSON, PNG chart of ratios.

usage: report.py <vm log or json> <output dir>
       report.py --width-vs-rounds <vm log or json> [row]
         (the interval's half-width for fewer rounds, by subsampling the
         measured ones; for every run in the log)

Every row's verdict comes from the per-round ratios: in round i veth and
rveth were measured back to back (the order alternates from round to round),
so r_i = rveth_i / veth_i (veth_i / rveth_i where lower is better) is > 1
when rveth did better in that round. The row reports the median of the r_i
with a distribution-free 95% confidence interval of that median (order
statistics of the r_i, binomial coverage; no resampling, no seed) and the
spread min..max of the r_i. A row whose interval contains 1.0 is "no
difference resolved"; with fewer than 6 rounds no 95% interval exists and
no row is resolved.
"""
import json
import math
import os
import random
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
    "TCP stream, sender TSO off": [("gbit_s", "Gbit/s", True)],
    "GRO: TCP stream, sender TSO off": [("gbit_s", "Gbit/s", True)],
    "GRO: UDP 64B pps": [("kpps", "kpps", True)],
    "GRO: 2 senders UDP 64B": [("kpps", "kpps", True), ("lost_pct", "% lost", False)],
    "UDP GSO forwarding": [("gbit_s", "Gbit/s payload forwarded", True), ("lost_pct", "% lost", False)],
    "GRO: UDP GSO forwarding": [("gbit_s", "Gbit/s payload forwarded", True), ("lost_pct", "% lost", False)],
    "XDP_DROP: pktgen 64B": [("mpps", "Mpps dropped", True)],
    "XDP_TX: pktgen 64B, back to the sender": [("mpps", "Mpps sent back", True)],
    "XDP_REDIRECT: pktgen 64B, pair to pair": [("mpps", "Mpps redirected", True)],
    "XDP_PASS: TCP stream": [("gbit_s", "Gbit/s", True)],
}

# The scale row's name carries its pair count ("scale: N pairs, ...").
SCALE_METRICS = [("create_ms", "ms/pair to create", False), ("delete_ms", "ms/pair to delete", False),
                 ("kib", "KiB/pair slab+percpu", False)]


def row_metrics(data):
    """METRICS, plus the scale rows present in `data`."""
    out = dict(METRICS)
    for row in data["rows"]:
        if row.startswith("scale: "):
            out[row] = SCALE_METRICS
    return out


# What GRO mode gains each driver: (label, row with GRO off, row with GRO
# on, metric). Ratio of the medians of the two rows (not interleaved per
# round: the rows run one after the other in the same VM).
GAINS = [
    ("TCP stream, sender TSO off", "TCP stream, sender TSO off", "GRO: TCP stream, sender TSO off",
     "gbit_s"),
    ("UDP 64B", "UDP 64B pps", "GRO: UDP 64B pps", "kpps"),
    ("2 senders UDP 64B", "2 senders UDP 64B", "GRO: 2 senders UDP 64B", "kpps"),
    ("UDP GSO forwarding", "UDP GSO forwarding", "GRO: UDP GSO forwarding", "gbit_s"),
]


def gains(data):
    """[(label, {kind: GRO-on median / GRO-off median})] for the rows present."""
    out = []
    for label, off, on, key in GAINS:
        r_off, r_on = data["rows"].get(off), data["rows"].get(on)
        if not r_off or not r_on:
            continue
        g = {}
        for kind in ("veth", "rveth"):
            if kind in r_off and kind in r_on:
                m_off = statistics.median(v[key] for v in r_off[kind])
                g[kind] = statistics.median(v[key] for v in r_on[kind]) / m_off if m_off else None
        out.append((label, g))
    return out


def gains_text(data):
    gs = gains(data)
    if not gs:
        return ""
    napi = data["meta"].get("gro_napi_packets", {})
    lines = ["", "GRO mode gain (median with GRO on / median with GRO off, same driver); "
             f"packets the NAPI queues took in the GRO rows: {napi}"]
    for label, g in gs:
        cells = "  ".join(f"{k} {v:.2f}x" if v else f"{k} n/a" for k, v in g.items())
        lines.append(f"  {label:30} {cells}")
    fwd = fwd_bytes_per_packet(data)
    if fwd:
        cells = "  ".join(f"{k} {off:.0f} -> {on:.0f}" for k, (off, on) in fwd.items())
        lines.append(f"  bytes per forwarded packet (UDP GSO forwarding, GRO off -> on): {cells}")
    return "\n".join(lines)


def fwd_bytes_per_packet(data):
    """{kind: (median bytes per forwarded packet with GRO off, with GRO on)}
    in the UDP GSO forwarding rows: 1342 is one datagram (1300 bytes of
    payload and the UDP, IP and Ethernet headers); more means GRO
    aggregated datagrams before they were forwarded."""
    off, on = data["rows"].get("UDP GSO forwarding"), data["rows"].get("GRO: UDP GSO forwarding")
    if not off or not on:
        return {}
    return {k: (statistics.median(v["bytes_per_pkt"] for v in off[k]),
                statistics.median(v["bytes_per_pkt"] for v in on[k]))
            for k in ("veth", "rveth") if k in off and k in on}

CONFIDENCE = 0.95
METHOD = ("distribution-free 95% confidence interval of the median of the per-round "
          "ratios (order statistics x_(k)..x_(n+1-k), k the largest with "
          "P(Binomial(n, 1/2) < k) <= 2.5%; needs n >= 6 rounds)")


def load(path):
    text = open(path, errors="replace").read()
    if "BENCH-JSON-BEGIN" in text:
        text = text.split("BENCH-JSON-BEGIN", 1)[1].split("BENCH-JSON-END", 1)[0]
    return json.loads(text.strip())


def load_all(path):
    """Every run in a log that holds several (e.g. a sweep of pktgen counts)."""
    text = open(path, errors="replace").read()
    if "BENCH-JSON-BEGIN" not in text:
        return [json.loads(text)]
    return [json.loads(part.split("BENCH-JSON-END", 1)[0].strip())
            for part in text.split("BENCH-JSON-BEGIN")[1:]]


def median_ci(xs, confidence=CONFIDENCE):
    """Distribution-free confidence interval of the median of xs.

    With x_(1) <= ... <= x_(n), the interval [x_(k), x_(n+1-k)] contains the
    population median with probability 1 - 2 P(B < k), B ~ Binomial(n, 1/2),
    for any continuous distribution of independent samples. k is the
    largest index whose coverage is still >= `confidence`. Returns
    (low, high, exact coverage), or None when even [min, max] covers less
    (n < 6 at 95%)."""
    n = len(xs)
    if n == 0:
        return None
    s = sorted(xs)
    tail = (1 - confidence) / 2
    cdf, k = 0.0, 0  # cdf = P(B < k + 1) while searching
    best = None
    for j in range(0, (n + 1) // 2):
        cdf += math.comb(n, j) / 2 ** n  # P(B <= j) = P(B < j + 1)
        if cdf <= tail + 1e-12:
            k = j + 1
            best = 1 - 2 * cdf
        else:
            break
    if best is None:
        return None
    return s[k - 1], s[n - k], best


def per_round_ratios(veth, rveth, higher):
    out = []
    for v, r in zip(veth, rveth):
        if higher:
            out.append(r / v if v else float("nan"))
        else:
            out.append(v / r if r else float("nan"))
    return [x for x in out if not math.isnan(x)]


def verdict(ci):
    if ci is None:
        return "no difference resolved (fewer than 6 rounds)"
    lo, hi, _ = ci
    if lo > 1.0:
        return "rveth better"
    if hi < 1.0:
        return "rveth worse"
    return "no difference resolved"


def analyze(data):
    """One dict per (row, metric): label, stats {kind: (median, min, max)},
    the per-round ratios, their median ("ratio"), the 95% interval
    ("ci": (low, high, coverage) or None), the spread and the verdict.
    Loss percentages get no ratio (they are often 0)."""
    out = []
    for row, metrics in row_metrics(data).items():
        samples = data["rows"].get(row)
        if not samples:
            continue
        for key, unit, higher in metrics:
            stats = {}
            for kind, vals in samples.items():
                xs = [v[key] for v in vals]
                stats[kind] = (statistics.median(xs), min(xs), max(xs))
            d = {"label": f"{row} [{unit}]", "row": row, "metric": key, "unit": unit,
                 "higher_is_better": higher, "stats": stats, "ratios": None, "ratio": None,
                 "ci": None, "spread": None, "verdict": None}
            if key != "lost_pct" and "veth" in samples and "rveth" in samples:
                rs = per_round_ratios([v[key] for v in samples["veth"]],
                                      [v[key] for v in samples["rveth"]], higher)
                if rs:
                    d["ratios"] = rs
                    d["ratio"] = statistics.median(rs)
                    d["ci"] = median_ci(rs)
                    d["spread"] = (min(rs), max(rs))
                    d["verdict"] = verdict(d["ci"])
            out.append(d)
    return out


def summarize(data):
    """[(row label, {kind: (median, min, max)}, ratio)]; ratio is the median of
    the per-round rveth/veth ratios, oriented so that > 1 is better for
    every metric (None for loss percentages)."""
    return [(d["label"], d["stats"], d["ratio"]) for d in analyze(data)]


def fmt(x):
    """3 significant digits, no exponent."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


def ratio_cells(d):
    if d["ratio"] is None:
        return "n/a", "", ""
    ci = d["ci"]
    rc = f"{d['ratio']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{d['ratio']:.3f} [n<6]"
    sp = f"{d['spread'][0]:.3f}..{d['spread'][1]:.3f}"
    return rc, sp, d["verdict"]


def header(data):
    m = data["meta"]
    pk = ""
    if m.get("pktgen_rounds"):
        pk = f"pktgen {m['pktgen_rounds']} rounds of {m['pktgen_count']:,} frames; "
    elif "pktgen_rounds" in m:
        pk = "no pktgen rows; "
    socket = (f"{m['rounds']} rounds of {m['seconds']} s for the socket rows" if m["rounds"]
              else "no socket rows")
    return f"kernel {m['kernel']}, {m['cpus']} vCPUs, {m['emulated']}; {pk}{socket}"


def table(data, rows):
    lines = [header(data) + "; medians (min..max)",
             f"{'row':42} {'veth':>22} {'rveth':>22} {'lo':>20}  {'rveth/veth [95% CI]':>24} "
             f"{'per-round':>13}  verdict"]
    for d in rows:
        st = d["stats"]
        def cell(k, w):
            if k not in st:
                return " " * w
            med, lo, hi = st[k]
            return f"{fmt(med)} ({fmt(lo)}..{fmt(hi)})".rjust(w)
        rc, sp, vd = ratio_cells(d)
        lines.append(f"{d['label']:42} {cell('veth', 22)} {cell('rveth', 22)} {cell('lo', 20)}  "
                     f"{rc:>24} {sp:>13}  {vd}")
    lines.append("rveth/veth: median of the per-round ratios, > 1 = rveth better (latencies and "
                 "ns/pkt inverted); [95% CI]: distribution-free interval of that median; "
                 "per-round: min..max of the ratios")
    return "\n".join(lines)


def markdown(data, rows):
    lines = [header(data) + "; medians (min..max)", "",
             "| row | veth | rveth | lo | rveth/veth [95% CI] | per-round | verdict |",
             "|---|---|---|---|---|---|---|"]
    for d in rows:
        st = d["stats"]
        cells = []
        for k in ("veth", "rveth", "lo"):
            if k in st:
                med, lo, hi = st[k]
                cells.append(f"{fmt(med)} ({fmt(lo)}..{fmt(hi)})")
            else:
                cells.append("")
        rc, sp, vd = ratio_cells(d)
        lines.append(f"| {d['label'].replace('us ', 'µs ')} | " + " | ".join(cells) +
                     f" | {rc} | {sp} | {vd} |")
    return "\n".join(lines)


COLOURS = {"rveth better": "tab:green", "rveth worse": "tab:red"}


def chart(rows, path, title=""):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, NullLocator
    rows = [d for d in rows if d["ratio"] is not None]
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(rows) + 2.6))
    ys = list(range(len(rows)))
    lo_x, hi_x = 0.95, 1.05
    for y, d in zip(ys, rows):
        colour = COLOURS.get(d["verdict"], "0.7")
        ax.barh(y, d["ratio"] - 1.0, left=1.0, color=colour, height=0.5, zorder=2)
        smin, smax = d["spread"]
        ax.plot([smin, smax], [y + 0.3, y + 0.3], color="0.45", linewidth=1, linestyle=":",
                marker="|", markersize=6, zorder=3)
        lo_x, hi_x = min(lo_x, smin), max(hi_x, smax)
        if d["ci"]:
            lo, hi, _ = d["ci"]
            ax.errorbar(d["ratio"], y, xerr=[[d["ratio"] - lo], [hi - d["ratio"]]], fmt="o",
                        color="black", markersize=3, capsize=4, linewidth=1.5, zorder=4)
        else:
            ax.plot(d["ratio"], y, "o", color="black", markersize=3, zorder=4)
        rc, _, _ = ratio_cells(d)
        ax.annotate(rc, (1.0, y), xycoords=("axes fraction", "data"), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(lo_x / 1.03, hi_x * 1.03)
    # Ticks outward from 1.0, none closer than 1/12 of the axis (log).
    gap = math.log(hi_x / lo_x * 1.03 ** 2) / 12
    ticks = [1.0]
    for side in ((1.02, 1.05, 1.1, 1.25, 1.5, 2, 3, 4, 6, 10),
                 (0.98, 0.95, 0.9, 0.8, 0.67, 0.5, 0.33, 0.25, 0.17, 0.1)):
        last = 1.0
        for t in side:
            if lo_x / 1.03 <= t <= hi_x * 1.03 and abs(math.log(t / last)) >= gap:
                ticks.append(t)
                last = t
    ticks.sort()
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_yticks(ys)
    ax.set_yticklabels([d["label"] for d in rows])
    ax.axvline(1.0, color="black", linewidth=1, zorder=1)
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.set_xlabel("rveth / veth, median of the per-round ratios (log scale; > 1: rveth better)")
    ax.invert_yaxis()
    ax.legend(handles=[Patch(color="tab:green", label="rveth better (95% CI above 1)"),
                       Patch(color="tab:red", label="rveth worse (95% CI below 1)"),
                       Patch(color="0.7", label="no difference resolved (CI contains 1)"),
                       Line2D([], [], color="black", marker="o", markersize=3,
                              label="median, 95% CI"),
                       Line2D([], [], color="0.45", linestyle=":", marker="|",
                              label="per-round min..max")],
              loc="upper center", bbox_to_anchor=(0.5, -0.6 / (len(rows) * 0.55 + 2.6) - 0.06),
              ncol=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")


def jsonable(rows):
    out = []
    for d in rows:
        e = {k: d[k] for k in ("label", "row", "metric", "unit", "higher_is_better", "ratios",
                               "ratio", "verdict")}
        e["stats"] = {k: {"median": v[0], "min": v[1], "max": v[2]} for k, v in d["stats"].items()}
        e["ci95"] = None if not d["ci"] else {"low": d["ci"][0], "high": d["ci"][1],
                                              "coverage": d["ci"][2]}
        e["spread"] = None if not d["spread"] else {"min": d["spread"][0], "max": d["spread"][1]}
        e["resolved"] = d["verdict"] in COLOURS if d["verdict"] else False
        out.append(e)
    return out


def width_vs_rounds(data, row="pktgen 64B crossing", metric=None, draws=2000, seed=1):
    """How wide the interval is with fewer rounds: for each n, `draws`
    random subsets of n of the measured rounds (fixed seed); the median and
    90th percentile of the interval's half-width (max distance of its ends
    from the subset's median ratio), and the interval of the first n rounds."""
    d = next(x for x in analyze(data) if x["row"] == row and (metric is None or x["metric"] == metric))
    rs = d["ratios"]
    rng = random.Random(seed)
    m = data["meta"]
    print(f"{d['label']}: {len(rs)} rounds of {m.get('pktgen_count', '?')} frames, "
          f"{m.get('duration_s', '?')} s in the guest; per-round ratios: " + " ".join(f"{x:.3f}" for x in rs))
    orders = data.get("orders", {}).get(row)
    if orders:
        vf = [x for x, o in zip(rs, orders) if o[0] == "veth"]
        rf = [x for x, o in zip(rs, orders) if o[0] == "rveth"]
        print(f"order: veth first in {len(vf)} rounds (median ratio {statistics.median(vf):.3f}), "
              f"rveth first in {len(rf)} (median ratio {statistics.median(rf):.3f})")
    print(f"{'n':>3} {'median half-width':>18} {'p90 half-width':>15} {'P(contains 1.0)':>16}   first n rounds")
    for n in range(6, len(rs) + 1):
        hw, has1 = [], 0
        for _ in range(draws if n < len(rs) else 1):
            sub = rng.sample(rs, n)
            lo, hi, _ = median_ci(sub)
            m = statistics.median(sub)
            hw.append(max(m - lo, hi - m))
            has1 += lo <= 1.0 <= hi
        hw.sort()
        first = rs[:n]
        lo, hi, cov = median_ci(first)
        print(f"{n:3} {100 * statistics.median(hw):17.2f}% {100 * hw[int(0.9 * (len(hw) - 1))]:14.2f}% "
              f"{has1 / len(hw):16.2f}   {statistics.median(first):.3f} [{lo:.3f}, {hi:.3f}] ({100 * cov:.1f}%)")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--width-vs-rounds":
        for data in load_all(sys.argv[2]):
            width_vs_rounds(data, *sys.argv[3:4])
            print()
        return
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    data = load(src)
    rows = analyze(data)
    text = table(data, rows) + gains_text(data)
    print(text)
    out = dict(data)
    out["analysis"] = {"method": METHOD, "confidence": CONFIDENCE, "rows": jsonable(rows)}
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(out, f, indent=1)
    with open(os.path.join(outdir, "bench.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "bench.md"), "w") as f:
        f.write(markdown(data, rows) + "\n" + gains_text(data).replace("\n  ", "\n- ") + "\n")
    chart(rows, os.path.join(outdir, "bench.png"), header(data))
    print(f"raw samples and intervals: {outdir}/bench.json, chart: {outdir}/bench.png, "
          f"markdown: {outdir}/bench.md")


if __name__ == "__main__":
    main()
