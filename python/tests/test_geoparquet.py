"""GeoParquet written by the command reads back in pyarrow and GeoPandas; GeoPandas'
GeoParquet reads into the command; the values are those of the CSV and of Engine.score."""

import json

import geopandas as gpd
import pyarrow.parquet as pq
import shapely

from conftest import FIXTURES, cli_csv, run, same_values


def test_scored_sites_read_back_in_pyarrow_and_geopandas(tmp_path):
    out = tmp_path / "ranked.parquet"
    run("score", str(FIXTURES / "sites.csv"), "--out", str(out), "-q")
    meta = json.loads(pq.read_schema(out).metadata[b"geo"])
    assert meta["version"] == "1.1.0"
    assert meta["columns"]["geometry"]["encoding"] == "WKB"
    gdf = gpd.read_parquet(out)
    assert gdf.crs.equals("OGC:CRS84") or gdf.crs.to_epsg() == 4326
    assert (gdf.geom_type == "Point").all()
    want = {r["id"]: r for r in cli_csv("score", str(FIXTURES / "sites.csv"))}
    assert len(gdf) == len(want)
    table = pq.read_table(out)
    assert str(table.schema.field("rank").type) == "int64"
    for row in table.drop_columns(["geometry"]).to_pylist():
        for col, value in row.items():
            assert same_values(value, want[row["id"]][col]), (row["id"], col, value)
    xy = list(zip(shapely.get_x(gdf.geometry), shapely.get_y(gdf.geometry)))
    assert xy == [(float(want[i]["lon"]), float(want[i]["lat"])) for i in gdf["id"]]


def test_region_cells_read_back_as_polygons(tmp_path):
    pq_out, gj_out = tmp_path / "cells.parquet", tmp_path / "cells.geojson"
    for out in (pq_out, gj_out):
        run("region", "--bbox", "9,-1,14,1", "--cell", "0.5", "--out", str(out), "-q")
    cells, ref = gpd.read_parquet(pq_out), gpd.read_file(gj_out)
    # GeoParquet without a `crs` is OGC:CRS84 (lon/lat on WGS 84); GeoJSON says EPSG:4326.
    ref = ref.set_crs(cells.crs, allow_override=True)
    assert len(cells) == len(ref) > 10
    assert (cells.geom_type == "Polygon").all()
    assert cells.geometry.geom_equals_exact(ref.geometry, tolerance=1e-9).all()
    assert cells["score"].fillna(-1).tolist() == ref["score"].fillna(-1).tolist()
    assert cells["status"].tolist() == ref["status"].tolist()


def test_geopandas_geoparquet_round_trips_through_the_command(tmp_path, fixture_engine, fixture_sites):
    df = fixture_sites.to_pandas()
    gdf = gpd.GeoDataFrame(df[["id", "name"]], geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
    sites, out = tmp_path / "sites.parquet", tmp_path / "scored.parquet"
    gdf.to_parquet(sites)
    run("score", str(sites), "--out", str(out), "-q")
    back = gpd.read_parquet(out).set_crs(4326, allow_override=True)
    assert back["id"].tolist() == gdf["id"].tolist()
    assert back.geometry.geom_equals(gdf.geometry).all()
    want = fixture_engine.score(gdf).to_pandas()
    assert back["score"].fillna(-1).tolist() == want["score"].fillna(-1).tolist()
    assert back["reasons"].tolist() == want["reasons"].tolist()
    # The scored file reads back into the command too (its geometry column found by `geo`).
    again = cli_csv("score", str(out))
    assert [r["id"] for r in again] == gdf["id"].tolist()
