"""The benchmark pipeline in SedonaDB (Apache Sedona's single-node engine on DataFusion), written
as its users would: CSVs read with pyarrow, the basins with pyogrio (Arrow), every geodesic
query a SpatialJoin (ST_DWithin points against points, per 2-degree latitude band with a
planar radius that holds the whole cap, as in peer_duckdb.py) followed by an exact great-circle
test on unit vectors; basins by an ST_Intersects SpatialJoin; the raster with rasterio.

ST_KNN is not used for the nearest plant: it ranks by planar or spheroidal distance, not the
sphere's, so doubling radii with the exact test give the benchmark's answer instead.

usage: peer_sedonadb.py WORK_DIR SITES.csv OUT.geojson [LAND.tif]
"""
import math
import os
import sys

os.environ.setdefault("GDAL_NUM_THREADS", "ALL_CPUS")

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pcsv  # noqa: E402
import sedonadb  # noqa: E402

from peer_duckdb import R, SCORE, XYZ, chord2, km_of_chord2, land_values, radius_deg  # noqa: E402


def view(con, name, table):
    con.create_data_frame(table).to_view(name, overwrite=True)


def within(con, km, sites, points, select):
    """SQL for the (site, point) pairs within `km` on the sphere (see peer_duckdb.within)."""
    bands = con.sql(f"SELECT DISTINCT CAST(floor(lat / 2) AS INT) AS b FROM {sites}").to_arrow_table()
    parts = []
    for b in sorted(bands.column("b").to_pylist()):
        r = radius_deg(km, max(abs(2 * b), abs(2 * b + 2)))
        parts.append(
            f"SELECT {select} FROM {sites} s JOIN {points} g ON ST_DWithin(s.geom, g.geom, {r!r})"
            f" WHERE CAST(floor(s.lat / 2) AS INT) = {b} AND {chord2('s', 'g')} <= {(2 * math.sin(km / R / 2)) ** 2!r}"
        )
    return " UNION ALL ".join(parts)


def main(work, sites_csv, out, land_tif=None):
    con = sedonadb.connect()
    sites = pcsv.read_csv(sites_csv)
    sites = sites.append_column("idx", pa.array(np.arange(sites.num_rows, dtype=np.int64)))
    view(con, "sites_raw", sites)
    view(con, "grid_raw", pcsv.read_csv(f"{work}/grid_points.csv"))
    point = "ST_SetSRID(ST_Point(lon, lat), 4326) AS geom"
    con.sql(f"SELECT *, {point}, {XYZ} FROM sites_raw").to_view("sites")
    con.sql(f"SELECT *, {point}, {XYZ} FROM grid_raw").to_view("grid")
    con.sql("SELECT * FROM grid WHERE capacity_mw >= 100").to_view("big")
    view(con, "basins", gpd.read_file(f"{work}/basins.geojson", use_arrow=True)[["bws_score", "geometry"]])

    land = land_values(land_tif or f"{work}/land_cost.tif", sites.column("lon").to_numpy(), sites.column("lat").to_numpy())
    view(con, "land", pa.table({"idx": np.arange(len(land), dtype=np.int64), "land": land}))

    pairs = within(con, 100.0, "sites", "grid", "s.idx, g.capacity_mw")
    view(con, "cap", con.sql(f"SELECT idx, sum(capacity_mw) AS cap_mw FROM ({pairs}) GROUP BY idx").to_arrow_table())

    found = []
    con.sql("SELECT * FROM sites").to_view("todo", overwrite=True)
    km = 25.0
    while True:
        pairs = within(con, km, "todo", "big", f"s.idx, {chord2('s', 'g')} AS c2")
        near = con.sql(f"SELECT idx, {km_of_chord2('min(c2)')} AS grid_km FROM ({pairs}) GROUP BY idx").to_arrow_table()
        found.append(near)
        view(con, "found", pa.concat_tables(found))
        con.sql("SELECT * FROM sites WHERE idx NOT IN (SELECT idx FROM found)").to_view("todo", overwrite=True)
        if con.sql("SELECT count(*) AS n FROM todo").to_arrow_table().column("n")[0].as_py() == 0:
            break
        km *= 2

    con.sql(
        """SELECT s.idx, first_value(b.bws_score) AS bws_score
        FROM sites s JOIN basins b ON ST_Intersects(b.geometry, s.geom)
        GROUP BY s.idx"""
    ).to_view("bws")

    top = con.sql(
        f"""WITH scored AS (
            SELECT s.idx, s.id, s.lon, s.lat, {SCORE} AS score
            FROM sites s
            JOIN found n ON n.idx = s.idx
            LEFT JOIN cap c ON c.idx = s.idx
            JOIN bws w ON w.idx = s.idx
            JOIN land l ON l.idx = s.idx
            WHERE w.bws_score <= 4.0 AND NOT isnan(l.land))
          SELECT id, idx, lon, lat, score FROM scored ORDER BY score DESC, idx LIMIT 1000"""
    ).to_pandas()
    gpd.GeoDataFrame(
        {"id": top.id.to_numpy(), "rank": np.arange(1, len(top) + 1), "score": top.score.to_numpy()},
        geometry=gpd.points_from_xy(top.lon, top.lat),
        crs="EPSG:4326",
    ).to_file(out, driver="GeoJSON")


if __name__ == "__main__":
    main(*sys.argv[1:5])
