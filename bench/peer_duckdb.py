"""The benchmark pipeline in DuckDB + spatial, written as a DuckDB user would: every geodesic
query goes through the spatial extension's join (an R-tree over the layer, SPATIAL_JOIN in the
plan), then an exact great-circle test on unit vectors; the raster is read with rasterio
(DuckDB has no raster reader), with GDAL decoding on every core.

- Capacity within 100 km: sites joined to plants with ST_DWithin (points against points, the
  fastest spatial join DuckDB has), per 2-degree latitude band of the sites with a planar
  radius in degrees that holds the whole 100 km cap at the band's worst latitude; summed where
  the great-circle distance is <= 100 km. Exact on the sphere.
- Nearest plant >= 100 MW: the same join on doubling radii (25, 50, 100, ... km); a site with
  a plant within the radius has its exact nearest; only the sites left go on.
- Basins: ST_Intersects spatial join.

usage: peer_duckdb.py WORK_DIR SITES.csv OUT.geojson [LAND.tif]
"""
import glob
import math
import os
import sys

os.environ.setdefault("GDAL_NUM_THREADS", "ALL_CPUS")

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402

R = 6371.0088


# Unit vectors of the points, so that the exact great-circle test on a candidate pair is a
# chord length (no trigonometry per pair): chord <= 2 sin(d / 2R) exactly when distance <= d.
XYZ = "cos(radians(lat)) * cos(radians(lon)) AS x, cos(radians(lat)) * sin(radians(lon)) AS y, sin(radians(lat)) AS z"


def chord2(a, b):
    return f"(pow({a}.x - {b}.x, 2) + pow({a}.y - {b}.y, 2) + pow({a}.z - {b}.z, 2))"


def km_of_chord2(c2):
    return f"2 * {R} * asin(least(1, sqrt({c2}) / 2))"


def radius_deg(km, max_abs_lat):
    """A planar radius in degrees holding every point within `km` (on the sphere) of a site at
    latitude up to `max_abs_lat`: the cap spans degrees(km/R) in latitude and, in longitude,
    asin(sin(km/R) / cos(lat)) — the corner of that box bounds the planar distance."""
    dlat = math.degrees(km / R)
    c = math.sin(km / R) / math.cos(math.radians(max_abs_lat))
    if max_abs_lat + dlat >= 90 or c >= 1:
        return 360.0
    return math.hypot(dlat, math.degrees(math.asin(c)))


def within(con, km, sites, points, select):
    """SQL for the (site, point) pairs within `km` on the sphere: ST_DWithin spatial joins per
    2-degree latitude band of the sites (each with its band's planar radius), then the exact
    great-circle test (as a chord length). (The workload is continental: no search crosses the antimeridian.)"""
    bands = [b for (b,) in con.execute(f"SELECT DISTINCT floor(lat / 2)::INT FROM {sites}").fetchall()]
    parts = []
    for b in sorted(bands):
        r = radius_deg(km, max(abs(2 * b), abs(2 * b + 2)))
        parts.append(
            f"SELECT {select} FROM {sites} s JOIN {points} g ON ST_DWithin(s.geom, g.geom, {r!r})"
            f" WHERE floor(s.lat / 2)::INT = {b} AND {chord2('s', 'g')} <= {(2 * math.sin(km / R / 2)) ** 2!r}"
        )
    return " UNION ALL ".join(parts)


# The benchmark profile's weighted score over n (nearest), c (capacity), w (basins), l (land).
SCORE = """(3 * greatest(0, least(1, (150.0 - n.grid_km) / 145.0))
  + 2 * greatest(0, least(1, coalesce(c.cap_mw, 0) / 2000.0))
  + 3 * greatest(0, least(1, (5.0 - w.bws_score) / 5.0))
  + 1 * greatest(0, least(1, (10000.0 - l.land) / 9000.0))) / 9.0"""


def land_values(path, lon, lat):
    with rasterio.open(path) as src:
        band = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, lon, lat)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        land = np.full(len(rows), np.nan)
        land[inside] = band[rows[inside], cols[inside]]
        if src.nodata is not None:
            land[land == src.nodata] = np.nan
    return land


def main(work, sites_csv, out, land_tif=None):
    import duckdb_extension_spatial

    ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "**", "*.duckdb_extension"), recursive=True)
    con = duckdb.connect()
    con.execute(f"LOAD '{ext[0]}'")
    con.execute(f"CREATE TABLE sites AS SELECT (row_number() OVER ()) - 1 AS idx, id, lat, lon, ST_Point(lon, lat) AS geom, {XYZ} FROM read_csv('{sites_csv}')")
    con.execute(f"CREATE TABLE grid AS SELECT *, ST_Point(lon, lat) AS geom, {XYZ} FROM read_csv('{work}/grid_points.csv')")
    con.execute("CREATE TABLE big AS SELECT * FROM grid WHERE capacity_mw >= 100")
    con.execute(f"CREATE TABLE basins AS SELECT bws_score, geom FROM ST_Read('{work}/basins.geojson')")

    s = con.execute("SELECT lon, lat FROM sites ORDER BY idx").fetchnumpy()
    land = land_values(land_tif or f"{work}/land_cost.tif", s["lon"], s["lat"])
    con.register("land_df", pd.DataFrame({"idx": np.arange(len(land)), "land": land}))

    pairs = within(con, 100.0, "sites", "grid", "s.idx, g.capacity_mw")
    con.execute(f"CREATE TABLE cap AS SELECT idx, sum(capacity_mw) AS cap_mw FROM ({pairs}) GROUP BY idx")

    con.execute("CREATE TABLE nearest (idx BIGINT, grid_km DOUBLE)")
    km = 25.0
    while True:
        con.execute("CREATE OR REPLACE TABLE todo AS SELECT * FROM sites ANTI JOIN nearest USING (idx)")
        if con.execute("SELECT count(*) FROM todo").fetchone()[0] == 0:
            break
        pairs = within(con, km, "todo", "big", f"s.idx, {chord2('s', 'g')} AS c2")
        con.execute(f"INSERT INTO nearest SELECT idx, {km_of_chord2('min(c2)')} FROM ({pairs}) GROUP BY idx")
        km *= 2

    con.execute(
        """CREATE TABLE bws AS
        SELECT s.idx, first(b.bws_score) AS bws_score
        FROM sites s JOIN basins b ON ST_Intersects(b.geom, ST_Point(s.lon, s.lat))
        GROUP BY s.idx"""
    )

    con.execute(
        f"""COPY (
          WITH scored AS (
            SELECT s.idx, s.id, s.lon, s.lat,
              {SCORE} AS score
            FROM sites s
            JOIN nearest n USING (idx)
            LEFT JOIN cap c USING (idx)
            JOIN bws w USING (idx)
            JOIN land_df l USING (idx)
            WHERE w.bws_score <= 4.0 AND NOT isnan(l.land))
          SELECT id, row_number() OVER (ORDER BY score DESC, idx) AS rank, score, ST_Point(lon, lat) AS geom
          FROM scored ORDER BY score DESC, idx LIMIT 1000
        ) TO '{out}' WITH (FORMAT GDAL, DRIVER 'GeoJSON')"""
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
