"""The benchmark pipeline in DuckDB + spatial (the raster read with rasterio): great-circle
(haversine) distances, an exact expanding-radius join for the nearest plant (DuckDB has no
KNN operator), a 1-degree bucket join for capacity within 100 km, ST_Contains for basins,
top 1000 written as GeoJSON.

usage: peer_duckdb.py WORK_DIR SITES.csv OUT.geojson
"""
import glob
import os
import sys

import duckdb
import numpy as np
import pandas as pd
import rasterio

R = 6371.0088
HAV = f"2 * {R} * asin(sqrt(pow(sin(radians({{b}}.lat - {{a}}.lat) / 2), 2) + cos(radians({{a}}.lat)) * cos(radians({{b}}.lat)) * pow(sin(radians({{b}}.lon - {{a}}.lon) / 2), 2)))"


def hav(a, b):
    return HAV.format(a=a, b=b)


def main(work, sites_csv, out):
    import duckdb_extension_spatial

    ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "**", "*.duckdb_extension"), recursive=True)
    con = duckdb.connect()
    con.execute(f"LOAD '{ext[0]}'")
    con.execute(f"CREATE TABLE sites AS SELECT (row_number() OVER ()) - 1 AS idx, id, lat, lon FROM read_csv('{sites_csv}')")
    con.execute(f"CREATE TABLE grid AS SELECT * FROM read_csv('{work}/grid_points.csv')")
    con.execute(f"CREATE TABLE basins AS SELECT bws_score, geom FROM ST_Read('{work}/basins.geojson')")

    # Raster values at the sites (rasterio), handed to DuckDB as a column.
    s = con.execute("SELECT lon, lat FROM sites ORDER BY idx").fetchnumpy()
    with rasterio.open(f"{work}/land_cost.tif") as src:
        band = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, s["lon"], s["lat"])
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        land = np.full(len(rows), np.nan)
        land[inside] = band[rows[inside], cols[inside]]
        land[land == src.nodata] = np.nan
    land_df = pd.DataFrame({"idx": np.arange(len(land)), "land": land})
    con.register("land_df", land_df)

    # Capacity within 100 km: half-degree buckets; neighbours within +-2 rows and +-3 columns
    # cover 100 km up to 50 degrees latitude; the haversine test is exact.
    con.execute("CREATE TABLE gridb AS SELECT *, floor(lat * 2)::INT AS by, floor(lon * 2)::INT AS bx FROM grid")
    con.execute(
        f"""CREATE TABLE cap AS
        SELECT s.idx, sum(g.capacity_mw) AS cap_mw
        FROM (SELECT idx, lat, lon, floor(lat * 2)::INT + dy AS by, floor(lon * 2)::INT + dx AS bx
              FROM sites, range(-2, 3) t1(dy), range(-3, 4) t2(dx)) s
        JOIN gridb g ON g.by = s.by AND g.bx = s.bx
        WHERE {hav('s', 'g')} <= 100.0
        GROUP BY s.idx"""
    )

    # Nearest plant >= 100 MW: exact expanding radius over bucket joins. With cells of
    # `size` degrees and neighbours within +-1 row and +-2 columns, every plant within
    # `reach` km is joined (up to 50 degrees latitude), so a minimum <= reach is final; the
    # sites left over go to coarser cells, and the last few to all plants.
    con.execute("CREATE TABLE big AS SELECT lat, lon FROM grid WHERE capacity_mw >= 100")
    con.execute("CREATE TABLE nearest (idx BIGINT, grid_km DOUBLE)")
    for size, reach in [(1, 100.0), (3, 300.0), (10, 1000.0)]:
        con.execute(
            f"""INSERT INTO nearest
            SELECT idx, d FROM (
              SELECT s.idx, min({hav('s', 'b')}) AS d
              FROM (SELECT idx, lat, lon, floor(lat / {size})::INT + dy AS by, floor(lon / {size})::INT + dx AS bx
                    FROM sites ANTI JOIN nearest USING (idx), range(-1, 2) t1(dy), range(-2, 3) t2(dx)) s
              JOIN (SELECT *, floor(lat / {size})::INT AS by, floor(lon / {size})::INT AS bx FROM big) b
                ON b.by = s.by AND b.bx = s.bx
              GROUP BY s.idx) WHERE d <= {reach}"""
        )
    con.execute(
        f"""INSERT INTO nearest
        SELECT s.idx, min({hav('s', 'b')}) FROM (SELECT * FROM sites ANTI JOIN nearest USING (idx)) s, big b GROUP BY s.idx"""
    )

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
              (3 * greatest(0, least(1, (150.0 - n.grid_km) / 145.0))
               + 2 * greatest(0, least(1, coalesce(c.cap_mw, 0) / 2000.0))
               + 3 * greatest(0, least(1, (5.0 - w.bws_score) / 5.0))
               + 1 * greatest(0, least(1, (10000.0 - l.land) / 9000.0))) / 9.0 AS score
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
    main(*sys.argv[1:4])
