#!/usr/bin/env bash
# Python and Spark against the command (bench/python_score.py): builds the command and the
# wheel, installs it with the test requirements into target/py-venv, and runs the timings.
#
#   STANDORT_DATA_DIR=../shared/data bench/python.sh          # N=1000000 RUNS=3
#   SPARK=1 STANDORT_DATA_DIR=../shared/data bench/python.sh  # also Spark local[2]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin standort
VENV=target/py-venv
[ -x "$VENV/bin/maturin" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r python/requirements-test.txt; }
rm -rf target/wheels
"$VENV/bin/maturin" build --release --strip -m python/Cargo.toml -o target/wheels > /dev/null 2>&1
"$VENV/bin/pip" install -q --force-reinstall --no-deps target/wheels/standort-*.whl
"$VENV/bin/python" bench/python_score.py
