"""standort: a site planner for data centers, from Python.

Grid capacity, water scarcity and land cost joined through spatial indexes into a
suitability score for any point on Earth — the engine of the ``standort`` command, with
Arrow tables in and out::

    import geopandas as gpd, standort
    eng = standort.Engine(profile="ai-campus", data_dir="/data/standort")
    sites = gpd.read_file("parcels.gpkg").to_crs(4326)
    ranked = eng.score(sites).sort_by([("score", "descending")])
    cells = eng.region("DEU", cell=0.1)["cells"]

Every error — bad input, a missing layer, a closed engine — is raised as
:class:`standort.Error` with a one-line message naming the file, table row or column.
Scoring runs in Rust on all cores with the GIL released.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    import pyarrow as pa

from . import _standort
from ._standort import Error

__all__ = ["Engine", "Error", "__version__"]
__version__ = _standort.__version__

PathLike = Union[str, "os.PathLike[str]"]


def _crs_is_lonlat(crs: Any) -> bool:
    """True when a GeoDataFrame's CRS is longitude/latitude on WGS 84 (or unset)."""
    if crs is None:
        return True
    try:
        if crs.equals("OGC:CRS84") or crs.to_epsg() == 4326:
            return True
    except Exception:  # pragma: no cover - pyproj failures count as "not lon/lat"
        return False
    return False


def _arrow(table: Any) -> Any:
    """Anything table-like as an object exposing the Arrow C stream or array interface.

    pyarrow tables, record batches and readers, polars frames and other Arrow producers go
    through untouched (no copy); a GeoDataFrame becomes Arrow with its geometry as WKB; a
    pandas DataFrame goes through ``pyarrow.Table.from_pandas``.
    """
    geopandas = sys.modules.get("geopandas")
    if geopandas is not None and isinstance(table, geopandas.GeoDataFrame):
        if not _crs_is_lonlat(table.crs):
            raise Error(
                f"table: the GeoDataFrame's CRS is {table.crs.to_string()}, not longitude/latitude; "
                "reproject it first with .to_crs(4326)"
            )
        return table.to_arrow(index=False, geometry_encoding="WKB")
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(table, pandas.DataFrame):
        import pyarrow as pa

        try:
            return pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise Error(f"table: {e}") from None
    return table


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


class Engine:
    """A scoring profile bound to its layers, loaded once and reused for every call.

    Args:
        profile: a built-in profile name (``ai-campus``, ``ai-campus-dry-cooling``, ...) or
            the path of a profile TOML file.
        data_dir: the data directory (see ``standort data fetch``); default: the
            ``STANDORT_DATA_DIR`` environment variable, else the platform data directory.
        layers: a layer-set TOML file instead of the built-in layer set.
        cache: read layers through the layer cache (``STANDORT_CACHE_DIR``, else
            ``~/.cache/standort``), as the command does.

    Loading takes a few seconds on the full data (less from the cache); the GIL is released
    meanwhile. An engine may be shared by threads. ``close()`` (or a ``with`` block)
    releases its memory; any later call raises :class:`standort.Error`.
    """

    def __init__(
        self,
        profile: str = "ai-campus",
        data_dir: Optional[PathLike] = None,
        layers: Optional[PathLike] = None,
        cache: bool = True,
    ) -> None:
        if data_dir is None:
            data_dir = os.environ.get("STANDORT_DATA_DIR") or None
        self._core = _standort.Engine(
            profile=os.fspath(profile), data_dir=_path(data_dir), layers=_path(layers), cache=cache
        )

    @property
    def profile(self) -> str:
        """The profile's name."""
        return self._core.profile

    @property
    def criteria(self) -> list[str]:
        """The criteria's ids, in profile order."""
        return self._core.criteria

    @property
    def set_dependent(self) -> bool:
        """True when a site's score depends on the other sites of the call (TOPSIS,
        percentile bounds): ``score`` then fits on each call's table, so split tables give
        other scores (and the Spark helper refuses such a profile)."""
        return self._core.set_dependent

    @property
    def warnings(self) -> list[str]:
        """Warnings about the layers' data, one line each."""
        return self._core.warnings

    @property
    def columns(self) -> dict:
        """What each result column means: unit, weight, scoring curve and sources per
        criterion (as the ``standort.columns`` member of a region GeoJSON)."""
        return json.loads(self._core._columns_json())

    def score(
        self, table: Any, *, lon: Optional[str] = None, lat: Optional[str] = None
    ) -> "pa.Table":
        """Score the sites of a table; a ``pyarrow.Table`` of the same rows, in the same
        order: the table's own columns, then ``score``, ``status`` (ok / excluded /
        unknown), ``reasons``, ``unknown`` (the criteria without data) and, per criterion,
        its raw value with the unit in the name (``grid_distance_km``), ``_score`` (0..1),
        ``_contribution`` and, for criteria with several sources, ``_source``.

        Values are those of the command's CSV and GeoParquet outputs, to the same decimals.
        There is no rank (sort on ``score``); a result column whose name the table already
        uses gets a ``standort_`` prefix.

        Args:
            table: a pyarrow Table, RecordBatch or RecordBatchReader, a polars DataFrame, any
                object with ``__arrow_c_stream__`` / ``__arrow_c_array__``, a pandas
                DataFrame, or a GeoDataFrame of points in longitude/latitude.
            lon, lat: the coordinate columns, when not found by name (``lon``, ``longitude``,
                ``x``, ...; ``lat``, ``latitude``, ``y``) nor given by a geometry column
                (WKB or GeoArrow points; GeoParquet's ``geo`` metadata names it).

        Raises:
            standort.Error: on a table without positions, coordinates out of range or NaN,
                null geometries, non-point geometries (rows counted from 0) or a closed engine.
        """
        return self._core.score(_arrow(table), lon=lon, lat=lat)

    def schema(self, schema: Any) -> "pa.Schema":
        """The ``pyarrow.Schema`` that :meth:`score` gives a table of ``schema`` (for Spark's
        ``mapInArrow`` and other consumers that need it up front)."""
        return self._core.schema(schema)

    def region(
        self,
        query: Optional[str] = None,
        *,
        bbox: Optional[tuple[float, float, float, float]] = None,
        cell: Optional[float] = None,
        top: int = 10,
        min_spacing_km: float = 50.0,
        sub_scores: bool = False,
    ) -> dict:
        """Score a region on a grid, as ``standort region``.

        Args:
            query: a country (ISO3 code or name) or a state or province (name or ISO 3166-2
                code; ``"Name, CCC"`` narrows a name to one country).
            bbox: instead of a query, a box ``(min_lon, min_lat, max_lon, max_lat)`` in
                degrees (``min_lon > max_lon`` crosses the antimeridian).
            cell: the cell size in degrees (default: a size that gives a useful grid).
            top: how many top sites the summary lists.
            min_spacing_km: the least distance between top sites, km.
            sub_scores: add each criterion's sub-score (``ID_score``) to every cell.

        Returns:
            ``{"cells": pyarrow.Table, "summary": dict}``: one row per cell in grid order —
            ``lon`` and ``lat`` of its centre, ``score``, ``status``, ``reasons``, each raw
            value and ``geometry`` (the cell as a WKB polygon) — and the summary that
            ``standort region --format json`` prints (shares, reasons, mean sub-scores,
            top sites).
        """
        cells, summary = self._core._region(
            query, bbox=bbox, cell=cell, top=top, min_spacing_km=min_spacing_km, sub_scores=sub_scores
        )
        return {"cells": cells, "summary": json.loads(summary)}

    def close(self) -> None:
        """Release the layers; any later call raises :class:`standort.Error`."""
        self._core.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._core)
