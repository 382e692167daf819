"""Python and Spark against the command on the same sites (bench/python.sh runs it).

Times, on N random sites over the contiguous US and the real data directory
(STANDORT_DATA_DIR), with the default profile:
  - the command: `standort score sites.csv --out x.parquet` (every site explained, as
    Engine.score does), wall time of the process, and its own scoring time;
  - Python: Engine() (layers from the cache) and Engine.score(table) on a pyarrow Table
    already in memory, in this process;
  - Spark local[2] (with SPARK=1): score_spark on the same sites from Parquet, collected
    into a Parquet folder, as sites per second and per executor core.
Best of RUNS runs each; prints one line per measurement and a summary.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import standort

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "standort"
WORK = ROOT / "target" / "bench-python"
N = int(os.environ.get("N", 1_000_000))
RUNS = int(os.environ.get("RUNS", 3))


def sites(n: int) -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table({
        "id": pa.array(np.arange(n)),
        "lon": rng.uniform(-125, -66, n).round(6),
        "lat": rng.uniform(25, 49, n).round(6),
    })


def best(f):
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    data = os.environ.get("STANDORT_DATA_DIR")
    if not data:
        sys.exit("set STANDORT_DATA_DIR to the real data directory")
    WORK.mkdir(parents=True, exist_ok=True)
    table = sites(N)
    csv_path, pq_path = WORK / f"sites_{N}.csv", WORK / f"sites_{N}.parquet"
    pacsv.write_csv(table, csv_path)
    pq.write_table(table, pq_path, row_group_size=100_000)
    table = pacsv.read_csv(csv_path)  # the doubles the command reads

    def cli():
        r = subprocess.run([str(BIN), "score", str(csv_path), "--out", str(WORK / "cli.parquet")],
                           capture_output=True, text=True, check=True)
        return r.stderr
    cli_s, log = best(cli)
    # "... scored ... in 17.1 s (layers 0.3 s)"
    import re
    m = re.search(r" in ([0-9.]+) s \(layers ([0-9.]+) s\)", log)
    cli_scoring = float(m.group(1)) - float(m.group(2)) if m else float("nan")
    print(f"command  : {N:,} sites in {cli_s:.2f} s wall (scoring {cli_scoring:.2f} s)")

    load_s, eng = best(lambda: standort.Engine(data_dir=data))
    score_s, out = best(lambda: eng.score(table))
    assert out.num_rows == N
    print(f"python   : Engine() {load_s:.2f} s, Engine.score {score_s:.2f} s, together {load_s + score_s:.2f} s")
    ratio = (load_s + score_s) / cli_s
    print(f"python / command: {ratio:.2f} (load + score against the command's wall time)")
    # The same values as the command's GeoParquet.
    cli_t = pq.read_table(WORK / "cli.parquet")
    # The command keeps CSV cells as text: the id back to a number to sort alike.
    cli_t = cli_t.set_column(0, "id", cli_t.column("id").cast(pa.int64())).sort_by("id")
    py_t = out.sort_by("id")
    same = py_t.column("score").equals(cli_t.column("score"))
    print(f"scores equal to the command's: {same}")

    if os.environ.get("SPARK") == "1":
        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession
        from standort.spark import score_spark

        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.driver.memory", "4g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        df = spark.read.parquet(str(pq_path))
        spark_out = WORK / "spark.parquet"

        def run_spark():
            score_spark(df, data_dir=data).write.mode("overwrite").parquet(str(spark_out))
        spark_s, _ = best(run_spark)
        assert pq.read_metadata(next(spark_out.glob("*.parquet"))).num_rows > 0
        rate = N / spark_s
        print(f"spark    : local[2] {N:,} sites in {spark_s:.1f} s: {rate:,.0f} sites/s, {rate / 2:,.0f} per executor core")
        spark.stop()


if __name__ == "__main__":
    main()
