"""Summarise bench/run.sh measurements: per size and raster form, the median wall time and
peak RSS of each tool, its ratio to standort (warm layer cache), how many times faster
standort is than the fastest peer (warm, cold and without the cache), the 1 -> 2 thread
speed-up of standort's scoring phase, and whether the tools agree (top-1000 overlap, mean
absolute score difference).

usage: report.py RESULTS.tsv OUT_DIR
"""
import json
import statistics
import sys
from collections import defaultdict

STANDORT = ["standort", "standort-cold", "standort-nocache", "standort-baseline"]
PEERS = ["geopandas", "duckdb", "sedonadb"]


def top(path):
    with open(path) as f:
        fc = json.load(f)
    return {str(ft["properties"]["id"]): float(ft["properties"]["score"]) for ft in fc["features"]}


def main(results, outdir):
    runs = defaultdict(list)
    phases = defaultdict(list)
    for line in open(results):
        tool, size, form, wall, rss_kb, phase = line.rstrip("\n").split("\t")
        runs[(tool, size, form)].append((float(wall), int(rss_kb)))
        if phase:
            phases[(tool, size, form)].append(float(phase))
    cases = sorted({(s, f) for (_, s, f) in runs}, key=lambda c: (["100k", "1m"].index(c[0]) if c[0] in ["100k", "1m"] else 9, c[1] != "plain"))
    med = lambda t, s, f: statistics.median(w for w, _ in runs[(t, s, f)])  # noqa: E731
    print(f"{'sites':>6}  {'raster':<8} {'tool':<17} {'wall s (median)':>16} {'peak RSS MB':>12} {'vs standort':>12}")
    for size, form in cases:
        base = med("standort", size, form)
        for tool in STANDORT + PEERS:
            if (tool, size, form) not in runs:
                continue
            walls = [w for w, _ in runs[(tool, size, form)]]
            rss = max(r for _, r in runs[(tool, size, form)]) / 1024
            m = statistics.median(walls)
            ratio = "1.0x" if tool == "standort" else f"{m / base:.2f}x"
            print(f"{size:>6}  {form:<8} {tool:<17} {m:>16.2f} {rss:>12.0f} {ratio:>12}   (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    for size, form in cases:
        peers = [(med(p, size, form), p) for p in PEERS if (p, size, form) in runs]
        if not peers:
            continue
        best, name = min(peers)
        leads = ", ".join(
            f"{label} {best / med(t, size, form):.1f}x"
            for t, label in [("standort", "warm cache"), ("standort-cold", "cold cache"), ("standort-nocache", "no cache")]
            if (t, size, form) in runs
        )
        print(f"{size:>6}  {form:<8} fastest peer {name} {best:.2f} s; standort is faster by: {leads}")
    for size, form in cases:
        one, two = phases.get(("standort-j1", size, form)), phases.get(("standort-j2", size, form))
        if one and two:
            print(f"{size:>6}  {form:<8} scoring phase 1 thread {statistics.median(one):.3f} s, 2 threads {statistics.median(two):.3f} s: speed-up {statistics.median(one) / statistics.median(two):.2f}x")
    ok = True
    for size, form in cases:
        ref = top(f"{outdir}/standort_{size}_{form}.geojson")
        for tool in PEERS:
            try:
                other = top(f"{outdir}/{tool}_{size}_{form}.geojson")
            except FileNotFoundError:
                continue
            common = set(ref) & set(other)
            overlap = len(common) / max(len(ref), 1)
            mad = sum(abs(ref[k] - other[k]) for k in common) / max(len(common), 1)
            agree = overlap >= 0.99 and mad < 1e-3
            ok &= agree
            print(f"{size:>6}  {form:<8} standort vs {tool:<10} top-1000 overlap {overlap:.1%}, mean |score difference| {mad:.2e}: {'agree' if agree else 'DISAGREE'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
