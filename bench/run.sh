#!/usr/bin/env bash
# Side-by-side benchmark: the same pipeline (load layers, four measures, standardise,
# weighted score, top 1000 written as GeoJSON) in standort, GeoPandas + Shapely and DuckDB +
# spatial, as whole processes, RUNS times each, on 100,000 and 1,000,000 sites.
#
#   bench/run.sh            # RUNS=3 by default; SIZES="100k 1m"
#   BASELINE=path/to/old/standort bench/run.sh   # also time an older build, interleaved
#   PEERS=0 bench/run.sh    # standort only (no GeoPandas/DuckDB install or runs)
#   SENSITIVITY=0 bench/run.sh   # skip the --sensitivity timing (1,000 draws, 100k sites)
#   SOVEREIGNTY=0 bench/run.sh   # skip the world sovereignty run (runs when STANDORT_DATA_DIR is set)
#   FULL10M=0 bench/run.sh       # skip the 10-million-site full run (memory of full outputs)
#   METHODS=0 bench/run.sh       # skip the decision-method runs (1M sites under each method)
#
# Generates the workload (examples/workload.rs) into target/bench-work and installs the peers
# (bench/requirements.txt) into target/bench-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZES=${SIZES:-"100k 1m"}
W=target/bench-work
VENV=target/bench-venv
OUT=target/bench-out
mkdir -p "$OUT"
cargo build --release --quiet --bin standort
[ -f "$W/sites_1m.csv" ] || cargo run --release --quiet --example workload -- "$W"
PEERS=${PEERS:-1}
if [ "$PEERS" = 1 ] && { [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import geopandas, duckdb, duckdb_extension_spatial, rasterio, scipy" 2>/dev/null; }; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
fi
RESULTS="$OUT/results.tsv"
: > "$RESULTS"
measure() { # tool size phase-from-stderr? command...
  local tool=$1 size=$2; shift 2
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$t" "$@" 2> "$t.err" > /dev/null || { cat "$t.err" >&2; exit 1; }
  local phase=""
  if [[ $tool == standort* ]]; then
    # "scored with ... in 0.61 s (layers 0.24 s)": scoring phase = total - layers.
    phase=$(sed -n 's/.* in \([0-9.]*\) s (layers \([0-9.]*\) s).*/\1 \2/p' "$t.err" | awk '{printf "%.3f", $1 - $2}')
  fi
  read -r wall rss < "$t"
  printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$size" "$wall" "$rss" "$phase" >> "$RESULTS"
  echo "  $tool $size: $wall s, $((rss / 1024)) MB" >&2
  rm -f "$t" "$t.err"
}
for size in $SIZES; do
  sites="$W/sites_$size.csv"
  for i in $(seq "$RUNS"); do
    measure standort "$size" target/release/standort score "$sites" --layers "$W/layers.toml" --profile "$W/profile.toml" --top 1000 --out "$OUT/standort_$size.geojson"
    measure standort-j1 "$size" target/release/standort score "$sites" --layers "$W/layers.toml" --profile "$W/profile.toml" --top 1000 --out "$OUT/standort_j1_$size.geojson" -j 1
    measure standort-j2 "$size" target/release/standort score "$sites" --layers "$W/layers.toml" --profile "$W/profile.toml" --top 1000 --out "$OUT/standort_j2_$size.geojson" -j 2
    if [ -n "${BASELINE:-}" ]; then
      measure standort-baseline "$size" "$BASELINE" score "$sites" --layers "$W/layers.toml" --profile "$W/profile.toml" --top 1000 --out "$OUT/standort_baseline_$size.geojson"
    fi
    if [ "$PEERS" = 1 ]; then
      measure geopandas "$size" "$VENV/bin/python" bench/peer_geopandas.py "$W" "$sites" "$OUT/geopandas_$size.geojson"
      measure duckdb "$size" "$VENV/bin/python" bench/peer_duckdb.py "$W" "$sites" "$OUT/duckdb_$size.geojson"
    fi
  done
done
cmp -s "$OUT/standort_j1_1m.geojson" "$OUT/standort_j2_1m.geojson" 2>/dev/null && echo "standort output identical for 1 and 2 threads" || true
if [ -n "${BASELINE:-}" ]; then
  for size in $SIZES; do
    cmp -s "$OUT/standort_$size.geojson" "$OUT/standort_baseline_$size.geojson" && echo "standort output identical to the baseline's ($size)" || echo "standort output DIFFERS from the baseline's ($size)"
  done
fi
# Rank stability: 1,000 draws of the weights over the 100,000 sites (every ok site a
# candidate, the top 1,000 tracked), on 1 and 2 threads; the outputs must be identical.
if [[ " $SIZES " == *" 100k "* ]] && [ "${SENSITIVITY:-1}" = 1 ]; then
  for j in 1 2; do
    /usr/bin/time -f "%e %M" -o "$OUT/sens_$j.time" target/release/standort score "$W/sites_100k.csv" \
      --layers "$W/layers.toml" --profile "$W/profile.toml" --top 1000 --sensitivity 1000 -j "$j" \
      --out "$OUT/sens_j$j.csv" 2> /dev/null
    read -r wall rss < "$OUT/sens_$j.time"
    echo "sensitivity: 1,000 draws over 100,000 sites (top 1,000 tracked), -j $j: $wall s, $((rss / 1024)) MB"
  done
  cmp -s "$OUT/sens_j1.csv" "$OUT/sens_j2.csv" && echo "sensitivity output identical for 1 and 2 threads" || echo "sensitivity output DIFFERS between 1 and 2 threads"
fi
# Decision methods: 1,000,000 sites, top 1,000, under each aggregation method of the
# benchmark profile, interleaved; the scoring phase (total minus layers) against the
# weighted sum's. TOPSIS reads the sites twice (its ideals come from a first pass).
if [[ " $SIZES " == *" 1m "* ]] && [ "${METHODS:-1}" = 1 ]; then
  declare -A extra=([weighted-sum]="" [weighted-product]="" [owa]=$'[owa]\norness = 0.3' [fuzzy]=$'[fuzzy]\noperator = "gamma"' [topsis]="")
  for m in weighted-sum weighted-product owa fuzzy topsis; do
    { echo "method = \"$m\""; cat "$W/profile.toml"; echo; echo "${extra[$m]}"; } > "$OUT/profile_$m.toml"
  done
  : > "$OUT/methods.tsv"
  for i in $(seq "$RUNS"); do
    for m in weighted-sum weighted-product owa fuzzy topsis; do
      target/release/standort score "$W/sites_1m.csv" --layers "$W/layers.toml" --profile "$OUT/profile_$m.toml" \
        --top 1000 --out "$OUT/method_$m.geojson" 2> "$OUT/method.err" > /dev/null
      sed -n "s/.* in \([0-9.]*\) s (layers \([0-9.]*\) s).*/$m \1 \2/p" "$OUT/method.err" >> "$OUT/methods.tsv"
    done
  done
  awk '{ n[$1]++; s[$1] += $2 - $3; w[$1] += $2 } END {
    base = s["weighted-sum"] / n["weighted-sum"];
    split("weighted-sum weighted-product owa fuzzy topsis", order, " ");
    for (k = 1; k <= 5; k++) { m = order[k]; t = s[m] / n[m];
      printf "method %-17s 1M sites, top 1000: scoring %.3f s (%+.1f%% vs weighted-sum), wall %.3f s (mean of %d)\n", m, t, 100 * (t / base - 1), w[m] / n[m], n[m] } }' "$OUT/methods.tsv"
fi
# A full run (no --top): 10,000,000 sites ranked in a first pass and written as CSV in input
# order in a second, with bounded memory (the file is generated on first use, 300 MB).
if [ "${FULL10M:-1}" = 1 ]; then
  [ -f "$W/sites_10m.csv" ] || cargo run --release --quiet --example workload -- "$W" --sites-10m
  /usr/bin/time -f "%e %M" -o "$OUT/full10m.time" target/release/standort score "$W/sites_10m.csv" \
    --layers "$W/layers.toml" --profile "$W/profile.toml" --format csv --out "$OUT/full10m.csv" -q
  read -r wall rss < "$OUT/full10m.time"
  echo "full run: 10,000,000 sites to CSV in input order: $wall s, $((rss / 1024)) MB peak"
  rm -f "$OUT/full10m.csv"
fi
# Compute sovereignty: every country's capacity plan at max under ai-campus on the real
# layers (needs STANDORT_DATA_DIR), on 1 and 2 threads; the tables must be identical.
if [ -n "${STANDORT_DATA_DIR:-}" ] && [ "${SOVEREIGNTY:-1}" = 1 ]; then
  for j in 1 2; do
    /usr/bin/time -f "%e %M" -o "$OUT/sov_$j.time" target/release/standort sovereignty -j "$j" \
      --out "$OUT/sovereignty_j$j.csv" 2> /dev/null
    read -r wall rss < "$OUT/sov_$j.time"
    echo "sovereignty: $(($(wc -l < "$OUT/sovereignty_j$j.csv") - 1)) countries under ai-campus, -j $j: $wall s, $((rss / 1024)) MB"
  done
  cmp -s "$OUT/sovereignty_j1.csv" "$OUT/sovereignty_j2.csv" && echo "sovereignty table identical for 1 and 2 threads" || echo "sovereignty table DIFFERS between 1 and 2 threads"
fi
PY="$VENV/bin/python"; [ -x "$PY" ] || PY=python3
"$PY" bench/report.py "$RESULTS" "$OUT"
