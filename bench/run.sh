#!/usr/bin/env bash
# Side-by-side benchmark: the same pipeline (load layers, four measures, standardise,
# weighted score, top 1000 written as GeoJSON) in standort, GeoPandas + Shapely, DuckDB +
# spatial and SedonaDB, as whole processes, RUNS times each, interleaved, on 100,000 and
# 1,000,000 sites, with the land-cost raster in two forms: plain (uncompressed strips, as
# standort's generator writes it) and compressed (256 x 256 tiles, DEFLATE, floating-point
# predictor: how GDAL writes it for rasterio users who ask for compression).
#
# standort runs three ways: with a warm layer cache (`standort`), with an empty one that the
# run fills (`standort-cold`), and with `--no-cache`; and on 1 and 2 threads (the outputs must
# be identical, and identical across the cache states).
#
#   bench/run.sh            # RUNS=3 by default; SIZES="100k 1m"; FORMS="plain deflate"
#   BASELINE=path/to/old/standort bench/run.sh   # also time an older build, interleaved
#   PEERS=0 bench/run.sh    # standort only (no peer runs)
#   SENSITIVITY=0 bench/run.sh   # skip the --sensitivity timing (1,000 draws, 100k sites)
#   SOVEREIGNTY=0 bench/run.sh   # skip the world sovereignty run (runs when STANDORT_DATA_DIR is set)
#   FULL10M=0 bench/run.sh       # skip the 10-million-site runs (full output; --top memory)
#   METHODS=0 bench/run.sh       # skip the decision-method runs (1M sites under each method)
#
# Generates the workload (examples/workload.rs) into target/bench-work and installs the peers
# (bench/requirements.txt) into target/bench-venv on first use; the compressed raster is
# written with rasterio (bench/compress_raster.py).
set -euo pipefail
cd "$(dirname "$0")/.."
# The benchmark layers resolve against their layer-set file's folder; the real data directory
# is only for the sovereignty run.
REAL_DATA=${STANDORT_DATA_DIR:-}
unset STANDORT_DATA_DIR
RUNS=${RUNS:-3}
SIZES=${SIZES:-"100k 1m"}
FORMS=${FORMS:-"plain deflate"}
W=target/bench-work
VENV=target/bench-venv
OUT=target/bench-out
mkdir -p "$OUT"
cargo build --release --quiet --bin standort
[ -f "$W/sites_1m.csv" ] || cargo run --release --quiet --example workload -- "$W"
PEERS=${PEERS:-1}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import geopandas, duckdb, duckdb_extension_spatial, rasterio, scipy, sedonadb, geoarrow.pyarrow, pyogrio" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
fi
if [ ! -f "$W/land_cost_deflate.tif" ]; then
  "$VENV/bin/python" bench/compress_raster.py "$W/land_cost.tif" "$W/land_cost_deflate.tif.tmp"
  mv "$W/land_cost_deflate.tif.tmp" "$W/land_cost_deflate.tif"
fi
cp "$W/layers.toml" "$W/layers_plain.toml"
sed 's/land_cost.tif/land_cost_deflate.tif/' "$W/layers.toml" > "$W/layers_deflate.toml"
raster_of() { if [ "$1" = deflate ]; then echo "$W/land_cost_deflate.tif"; else echo "$W/land_cost.tif"; fi; }
# A warm layer cache of its own (not the user's), and an empty one per cold run.
CACHE="$OUT/cache"
export STANDORT_CACHE_DIR="$CACHE"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"
measure() { # tool size form command...
  local tool=$1 size=$2 form=$3; shift 3
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$t" "$@" 2> "$t.err" > /dev/null || { cat "$t.err" >&2; exit 1; }
  local phase=""
  if [[ $tool == standort* ]]; then
    # "scored with ... in 0.61 s (layers 0.24 s)": scoring phase = total - layers.
    phase=$(sed -n 's/.* in \([0-9.]*\) s (layers \([0-9.]*\) s).*/\1 \2/p' "$t.err" | awk '{printf "%.3f", $1 - $2}')
  fi
  read -r wall rss < "$t"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$size" "$form" "$wall" "$rss" "$phase" >> "$RESULTS"
  echo "  $tool $size $form: $wall s, $((rss / 1024)) MB" >&2
  rm -f "$t" "$t.err"
}
for size in $SIZES; do
  sites="$W/sites_$size.csv"
  for form in $FORMS; do
    st=(target/release/standort score "$sites" --layers "$W/layers_$form.toml" --profile "$W/profile.toml" --top 1000)
    tag="${size}_$form"
    # Fill the warm cache first (not measured).
    "${st[@]}" -q --out "$OUT/warmup.geojson" > /dev/null
    for i in $(seq "$RUNS"); do
      rm -rf "$OUT/cold"
      STANDORT_CACHE_DIR="$OUT/cold" measure standort-cold "$size" "$form" "${st[@]}" --out "$OUT/standort_cold_$tag.geojson"
      measure standort "$size" "$form" "${st[@]}" --out "$OUT/standort_$tag.geojson"
      measure standort-nocache "$size" "$form" "${st[@]}" --no-cache --out "$OUT/standort_nocache_$tag.geojson"
      measure standort-j1 "$size" "$form" "${st[@]}" -j 1 --out "$OUT/standort_j1_$tag.geojson"
      measure standort-j2 "$size" "$form" "${st[@]}" -j 2 --out "$OUT/standort_j2_$tag.geojson"
      if [ -n "${BASELINE:-}" ]; then
        measure standort-baseline "$size" "$form" "$BASELINE" score "$sites" --layers "$W/layers_$form.toml" --profile "$W/profile.toml" --top 1000 --out "$OUT/standort_baseline_$tag.geojson"
      fi
      if [ "$PEERS" = 1 ]; then
        for peer in geopandas duckdb sedonadb; do
          measure "$peer" "$size" "$form" "$VENV/bin/python" "bench/peer_$peer.py" "$W" "$sites" "$OUT/${peer}_$tag.geojson" "$(raster_of "$form")"
        done
      fi
    done
    for v in cold nocache j1 j2; do
      cmp -s "$OUT/standort_$tag.geojson" "$OUT/standort_${v}_$tag.geojson" \
        && echo "standort output identical: warm cache vs $v ($size, $form)" \
        || echo "standort output DIFFERS: warm cache vs $v ($size, $form)"
    done
    if [ "$form" != plain ] && [[ " $FORMS " == *" plain "* ]]; then
      cmp -s "$OUT/standort_$tag.geojson" "$OUT/standort_${size}_plain.geojson" \
        && echo "standort output identical for both raster forms ($size)" \
        || echo "standort output DIFFERS between the raster forms ($size)"
    fi
  done
done
if [ -n "${BASELINE:-}" ]; then
  for size in $SIZES; do
    for form in $FORMS; do
      cmp -s "$OUT/standort_${size}_$form.geojson" "$OUT/standort_baseline_${size}_$form.geojson" && echo "standort output identical to the baseline's ($size, $form)" || echo "standort output DIFFERS from the baseline's ($size, $form)"
    done
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
      target/release/standort score "$W/sites_1m.csv" --layers "$W/layers_plain.toml" --profile "$OUT/profile_$m.toml" \
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
  # Peak memory with --top at 10,000,000 sites, for each raster form (warm cache and none).
  for form in $FORMS; do
    for c in "" --no-cache; do
      /usr/bin/time -f "%e %M" -o "$OUT/top10m.time" target/release/standort score "$W/sites_10m.csv" \
        --layers "$W/layers_$form.toml" --profile "$W/profile.toml" --top 1000 $c --out "$OUT/top10m.geojson" -q
      read -r wall rss < "$OUT/top10m.time"
      echo "top 1,000 of 10,000,000 sites ($form raster${c:+, $c}): $wall s, $((rss / 1024)) MB peak"
    done
  done
fi
# Compute sovereignty: every country's capacity plan at max under ai-campus on the real
# layers (needs STANDORT_DATA_DIR), on 1 and 2 threads; the tables must be identical.
if [ -n "$REAL_DATA" ] && [ "${SOVEREIGNTY:-1}" = 1 ]; then
  export STANDORT_DATA_DIR="$REAL_DATA"
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
