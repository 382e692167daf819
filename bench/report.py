"""Summarise bench/run.sh measurements: median wall time and peak RSS per tool and size, the
ratios to standort, the 1 -> 2 thread speed-up of standort's scoring phase, and whether the
tools agree (top-1000 overlap, mean absolute score difference).

usage: report.py RESULTS.tsv OUT_DIR
"""
import json
import statistics
import sys
from collections import defaultdict


def top(path):
    with open(path) as f:
        fc = json.load(f)
    return {str(ft["properties"]["id"]): float(ft["properties"]["score"]) for ft in fc["features"]}


def main(results, outdir):
    runs = defaultdict(list)
    phases = defaultdict(list)
    for line in open(results):
        tool, size, wall, rss_kb, phase = line.rstrip("\n").split("\t")
        runs[(tool, size)].append((float(wall), int(rss_kb)))
        if phase:
            phases[(tool, size)].append(float(phase))
    sizes = [s for s in ["100k", "1m"] if ("standort", s) in runs]
    print(f"{'sites':>6}  {'tool':<17} {'wall s (median)':>16} {'peak RSS MB':>12} {'vs standort':>12}")
    ok = True
    for size in sizes:
        base = statistics.median(w for w, _ in runs[("standort", size)])
        for tool in ["standort", "standort-baseline", "geopandas", "duckdb"]:
            if (tool, size) not in runs:
                continue
            walls = [w for w, _ in runs[(tool, size)]]
            rss = max(r for _, r in runs[(tool, size)]) / 1024
            med = statistics.median(walls)
            ratio = "1.0x" if tool == "standort" else f"{med / base:.2f}x"
            print(f"{size:>6}  {tool:<17} {med:>16.2f} {rss:>12.0f} {ratio:>12}   (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    for size in sizes:
        one, two = phases.get(("standort-j1", size)), phases.get(("standort-j2", size))
        if one and two:
            print(f"{size:>6}  scoring phase 1 thread {statistics.median(one):.3f} s, 2 threads {statistics.median(two):.3f} s: speed-up {statistics.median(one) / statistics.median(two):.2f}x")
    for size in sizes:
        ref = top(f"{outdir}/standort_{size}.geojson")
        for tool in ["geopandas", "duckdb"]:
            try:
                other = top(f"{outdir}/{tool}_{size}.geojson")
            except FileNotFoundError:
                continue
            common = set(ref) & set(other)
            overlap = len(common) / max(len(ref), 1)
            mad = sum(abs(ref[k] - other[k]) for k in common) / max(len(common), 1)
            agree = overlap >= 0.99 and mad < 1e-3
            ok &= agree
            print(f"{size:>6}  standort vs {tool:<10} top-1000 overlap {overlap:.1%}, mean |score difference| {mad:.2e}: {'agree' if agree else 'DISAGREE'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
