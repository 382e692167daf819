"""Scoring inside Spark (local[2], mapInArrow): every row equals the command's on the same
200,000 sites of the real data."""

import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from conftest import data_dir, run

N_SITES = 200_000


def random_sites(n: int, seed: int = 16) -> pa.Table:
    """Sites over the US, Europe, India and the whole world (some at sea): every status."""
    rng = np.random.default_rng(seed)
    boxes = [(-125, 25, -66, 49), (-10, 36, 30, 60), (68, 8, 97, 35), (-180, -60, 180, 75)]
    parts = np.array_split(np.arange(n), len(boxes))
    lon, lat = np.empty(n), np.empty(n)
    for (x0, y0, x1, y1), idx in zip(boxes, parts):
        lon[idx] = rng.uniform(x0, x1, len(idx)).round(6)
        lat[idx] = rng.uniform(y0, y1, len(idx)).round(6)
    return pa.table({"id": pa.array([f"s{i}" for i in range(n)]), "lon": lon, "lat": lat})


@pytest.fixture(scope="module")
def spark():
    # .ci/run sets STANDORT_REQUIRE_SPARK: there, a missing PySpark or Java is a failure.
    if os.environ.get("STANDORT_REQUIRE_SPARK"):
        import pyspark  # noqa: F401

        assert _java(), "no java on PATH"
    else:
        pytest.importorskip("pyspark", reason="pyspark is not installed")
        if not _java():
            pytest.skip("no Java runtime")
    from pyspark.sql import SparkSession

    # Spark's Python workers run this interpreter (with standort installed), not `python3`.
    import sys

    os.environ["PYSPARK_PYTHON"] = sys.executable
    s = (SparkSession.builder.master("local[2]").appName("standort-test")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "4")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def _java() -> bool:
    import shutil

    return shutil.which("java") is not None


def test_spark_rows_equal_the_command(spark, tmp_path):
    from standort.spark import score_spark

    data = data_dir()
    sites = random_sites(N_SITES)
    csv_path, pq_path = tmp_path / "sites.csv", tmp_path / "sites.parquet"
    pacsv.write_csv(sites, csv_path)
    pq.write_table(sites, pq_path, row_group_size=25_000)
    # The CSV as the command reads it: the same doubles as the Parquet.
    assert pacsv.read_csv(csv_path).equals(sites)

    cli_out = tmp_path / "cli.parquet"
    run("score", str(csv_path), "--out", str(cli_out), "-q", data=True)
    cli = pq.read_table(cli_out).drop_columns(["rank", "tie_group", "geometry"])

    df = spark.read.parquet(str(pq_path)).repartition(6)
    t0 = time.perf_counter()
    scored = score_spark(df, data_dir=data)
    got = scored.toArrow()
    elapsed = time.perf_counter() - t0
    print(f"\nspark local[2]: {N_SITES} sites in {elapsed:.1f} s ({N_SITES / elapsed:,.0f} sites/s)")

    assert got.num_rows == N_SITES
    assert got.column_names == cli.column_names
    got = got.sort_by("id")
    cli = cli.sort_by("id")
    assert cli.column("id").equals(got.column("id"))
    statuses = set(cli.column("status").to_pylist())
    assert {"ok", "excluded"} <= statuses, statuses
    for name in cli.column_names:
        a, b = cli.column(name), got.column(name)
        b = b.cast(a.type)
        same = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        bad = pc.sum(pc.invert(pc.or_(same, both_null))).as_py() or 0
        assert bad == 0, f"{name}: {bad} rows differ"


def test_spark_refuses_a_set_dependent_profile(spark, tmp_path):
    import standort
    from standort.spark import score_spark

    from conftest import FIXTURES

    df = spark.createDataFrame([(10.0, 0.0)], ["lon", "lat"])
    with pytest.raises(standort.Error, match="depend on the whole set"):
        score_spark(df, profile=str(FIXTURES / "profile_methods.toml"), data_dir=str(FIXTURES),
                    layers=str(FIXTURES / "layers.toml"))
