"""standort.Engine: Arrow in, Arrow out, the same values as the command, clear errors."""

import math
import threading
import time

import numpy as np
import pyarrow as pa
import pytest
import standort

from conftest import FIXTURES, cli_csv, run, same_values


def result_columns(eng, table):
    return [n for n in eng.score(table.slice(0, 0)).column_names if n not in table.column_names]


def test_scores_equal_the_command_row_for_row(fixture_engine, fixture_sites):
    got = fixture_engine.score(fixture_sites)
    assert got.num_rows == fixture_sites.num_rows
    # The input's columns first, untouched.
    assert got.column_names[:4] == fixture_sites.column_names
    assert got.select(fixture_sites.column_names).equals(fixture_sites)
    want = {r["id"]: r for r in cli_csv("score", str(FIXTURES / "sites.csv"))}
    cols = result_columns(fixture_engine, fixture_sites)
    assert "score" in cols and "grid_distance_km" in cols and "rank" not in cols
    checked = 0
    for row in got.to_pylist():
        for c in cols:
            assert same_values(row[c], want[row["id"]][c]), (row["id"], c, row[c], want[row["id"]][c])
            checked += 1
    assert checked == len(cols) * fixture_sites.num_rows


class StreamOnly:
    """An Arrow producer that is nothing but the C stream interface."""

    def __init__(self, table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


def test_every_kind_of_table_gives_the_same_scores(fixture_engine, fixture_sites):
    import geopandas as gpd

    want = fixture_engine.score(fixture_sites).column("score")
    df = fixture_sites.to_pandas()
    gdf = gpd.GeoDataFrame(df[["id", "name"]], geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
    inputs = {
        "record batch": fixture_sites.to_batches()[0],
        "reader": pa.RecordBatchReader.from_batches(fixture_sites.schema, fixture_sites.to_batches(max_chunksize=3)),
        "pandas": df,
        "geopandas": gdf,
        "c stream": StreamOnly(fixture_sites),
        "wkb": pa.table({"id": df.id, "geometry": gdf.geometry.to_wkb()}),
        "renamed": fixture_sites.rename_columns(["id", "name", "breite", "laenge"]),
    }
    for what, table in inputs.items():
        kw = {"lon": "laenge", "lat": "breite"} if what == "renamed" else {}
        got = fixture_engine.score(table, **kw)
        assert got.column("score").to_pylist() == want.to_pylist(), what
    # A GeoDataFrame keeps its geometry (as WKB) and reads back as one.
    back = gpd.GeoDataFrame.from_arrow(fixture_engine.score(gdf))
    assert back.geometry.geom_equals(gdf.geometry).all()


def test_a_result_name_the_table_uses_gets_a_prefix(fixture_engine, fixture_sites):
    t = fixture_sites.append_column("score", pa.array([7.0] * fixture_sites.num_rows))
    got = fixture_engine.score(t)
    assert got.column("score").to_pylist() == [7.0] * t.num_rows
    assert got.column("standort_score").equals(fixture_engine.score(fixture_sites).column("score"))
    assert fixture_engine.schema(t.schema) == got.schema


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg, msg
    assert isinstance(excinfo.value, standort.Error)
    return msg


@pytest.mark.parametrize(
    "table, needle",
    [
        (pa.table({"name": ["a"]}), "no geometry column"),
        (pa.table({"lon": ["1"], "lat": [2.0]}), 'coordinate column "lon" is Utf8, not a number'),
        (pa.table({"lon": [1.0, math.nan], "lat": [2.0, 3.0]}), "table: row 1: longitude NaN is out of range [-180, 180]"),
        (pa.table({"lon": [1.0, None], "lat": [2.0, 3.0]}), "table: row 1: longitude is null"),
        (pa.table({"lon": [1.0], "lat": [95.0]}), "table: row 0: latitude 95 is out of range [-90, 90]"),
        ({"lon": [1.0], "lat": [2.0]}, "expected an Arrow table"),
        (pa.table({"geometry": pa.array([b"\x01\x03\x00\x00\x00\x00\x00\x00\x00"])}), "row 0: sites must be Points, found a Polygon"),
    ],
)
def test_bad_tables_raise_standort_error(fixture_engine, table, needle):
    with pytest.raises(standort.Error) as e:
        fixture_engine.score(table)
    assert needle in one_line_error(e)


def test_a_named_column_that_is_missing(fixture_engine, fixture_sites):
    with pytest.raises(standort.Error) as e:
        fixture_engine.score(fixture_sites, lon="x_utm")
    assert 'no longitude column "x_utm"' in one_line_error(e)


def test_a_projected_geodataframe_is_refused(fixture_engine, fixture_sites):
    import geopandas as gpd

    df = fixture_sites.to_pandas()
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326).to_crs(3857)
    with pytest.raises(standort.Error) as e:
        fixture_engine.score(gdf)
    assert "EPSG:3857" in one_line_error(e) and ".to_crs(4326)" in str(e.value)


def test_a_closed_engine_raises(fixture_sites):
    with standort.Engine(profile=str(FIXTURES / "profile.toml"), data_dir=str(FIXTURES),
                         layers=str(FIXTURES / "layers.toml"), cache=False) as eng:
        assert eng.score(fixture_sites).num_rows == fixture_sites.num_rows
    for call in (lambda: eng.score(fixture_sites), lambda: eng.profile, lambda: eng.region(bbox=(9, -1, 14, 1))):
        with pytest.raises(standort.Error) as e:
            call()
        assert one_line_error(e) == "the engine is closed"
    assert "closed" in repr(eng)


def test_bad_engine_arguments_raise(tmp_path):
    with pytest.raises(standort.Error) as e:
        standort.Engine(profile="no-such-profile", data_dir=str(FIXTURES))
    assert "no-such-profile" in one_line_error(e)
    with pytest.raises(standort.Error) as e:
        standort.Engine(profile=str(FIXTURES / "profile.toml"), layers=str(tmp_path / "missing.toml"))
    assert "missing.toml" in one_line_error(e)


def test_region_equals_the_command(fixture_engine):
    r = fixture_engine.region(bbox=(9, -1, 14, 1), cell=0.5, sub_scores=True)
    cells, summary = r["cells"], r["summary"]
    import json

    want = json.loads(run("region", "--bbox", "9,-1,14,1", "--cell", "0.5", "--format", "json", "-q"))
    assert summary["cells"] == want["cells"] == cells.num_rows > 10
    assert summary["share_ok"] == want["share_ok"]
    assert summary["top"] == want["top"]
    assert {"lon", "lat", "score", "status", "geometry", "grid_distance_score"} <= set(cells.column_names)
    import shapely

    polys = shapely.from_wkb(cells.column("geometry").to_numpy(zero_copy_only=False))
    centres = shapely.centroid(polys)
    assert np.allclose(shapely.get_x(centres), cells.column("lon").to_numpy())
    assert np.allclose(shapely.get_y(centres), cells.column("lat").to_numpy())
    assert all(abs(p.area - 0.25) < 1e-9 for p in polys)
    with pytest.raises(standort.Error) as e:
        fixture_engine.region("Equatoria", bbox=(9, -1, 14, 1))
    assert "either" in one_line_error(e)
    with pytest.raises(standort.Error) as e:
        fixture_engine.region(bbox=(9, -1, 14, 1), cell=0)
    assert "cell 0" in one_line_error(e)


def test_the_gil_is_released_while_scoring(fixture_engine):
    rng = np.random.default_rng(7)
    n = 400_000
    table = pa.table({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-89, 89, n)})
    t0 = time.perf_counter()
    fixture_engine.score(table)
    alone = time.perf_counter() - t0
    done = threading.Event()

    def work():
        fixture_engine.score(table)
        done.set()

    worker = threading.Thread(target=work)
    last, longest = time.perf_counter(), 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    worker.join()
    # Held for the whole call, the main thread would stall for about `alone`.
    assert alone > 0.05
    assert longest < alone / 2, (longest, alone)
