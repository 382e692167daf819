"""Scoring inside Spark: ``mapInArrow`` with one standort engine per Python worker.

standort does not distribute anything itself: Spark cuts the DataFrame into Arrow batches
and hands them to its Python workers; each worker process loads the layers once (the first
batch it sees) and scores every later batch with the same engine. Results are those of
``Engine.score`` — and so of the command — row for row::

    from pyspark.sql import SparkSession
    from standort.spark import score_spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    sites = spark.read.parquet("parcels.parquet")        # lon/lat columns or WKB points
    scored = score_spark(sites, profile="ai-campus", data_dir="/data/standort")
    scored.write.parquet("scored.parquet")

On a cluster, every executor needs the ``standort`` wheel installed (``--py-files`` does
not carry compiled code: use ``spark.archives`` with a packed virtualenv, a cluster
library, or ``pip install`` in the image) and the data directory at the same path (a shared
file system, or shipped with ``--archives data.tar.gz#standort-data`` and
``data_dir="./standort-data"``).
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Optional

from . import Engine, Error

#: Engines of this Python process, by their arguments: a worker loads the layers once.
_ENGINES: dict = {}


def worker_engine(
    profile: str = "ai-campus",
    data_dir: Optional[str] = None,
    layers: Optional[str] = None,
) -> Engine:
    """The engine of this process for these arguments, loaded on first use."""
    key = (profile, data_dir, layers)
    eng = _ENGINES.get(key)
    if eng is None:
        eng = Engine(profile=profile, data_dir=data_dir, layers=layers)
        _ENGINES[key] = eng
    return eng


def score_spark(
    df: Any,
    *,
    profile: str = "ai-campus",
    data_dir: Optional[str] = None,
    layers: Optional[str] = None,
    lon: Optional[str] = None,
    lat: Optional[str] = None,
) -> Any:
    """Score a Spark DataFrame of sites; a DataFrame of the same rows with the result
    columns of :meth:`standort.Engine.score` after the input's.

    The output schema is computed on the driver, which therefore loads the engine once too
    (and checks the arguments before any task starts). A set-dependent profile (TOPSIS,
    percentile bounds) is refused: its scores would depend on how Spark splits the rows.
    """
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    if data_dir is None:
        data_dir = os.environ.get("STANDORT_DATA_DIR") or None
    data_dir = None if data_dir is None else os.fspath(data_dir)
    layers = None if layers is None else os.fspath(layers)
    eng = worker_engine(profile, data_dir, layers)
    if eng.set_dependent:
        raise Error(
            f"profile {eng.profile}: scores depend on the whole set of sites, which Spark "
            "splits; score it in one Engine.score call instead"
        )
    out_schema = from_arrow_schema(eng.schema(to_arrow_schema(df.schema)))

    def score_partition(batches: Iterator[Any]) -> Iterator[Any]:
        engine = worker_engine(profile, data_dir, layers)
        for batch in batches:
            yield from engine.score(batch, lon=lon, lat=lat).to_batches()

    return df.mapInArrow(score_partition, out_schema)
